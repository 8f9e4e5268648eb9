// node-downloader-helper: a popular Node download manager (downloads only).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { DownloaderHelper } = require('node-downloader-helper');
const { run } = require('./harness');

run({
  download(url, file) {
    return new Promise((resolve, reject) => {
      const dl = new DownloaderHelper(url, path.dirname(file), {
        fileName: path.basename(file),
        override: true,
        retry: false,
      });
      dl.on('end', () => resolve(fs.statSync(file).size));
      dl.on('error', reject);
      dl.start().catch(reject);
    });
  },
  request() {
    throw new Error('not a request client');
  },
  upload() {
    throw new Error('not an upload client');
  },
}).catch((error) => {
  console.error(error);
  process.exit(1);
});
