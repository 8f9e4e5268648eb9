// Node's http.get piped to a file, on a keep-alive agent.
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const { pipeline } = require('node:stream/promises');
const { run } = require('./harness');

const agent = new http.Agent({ keepAlive: true, maxSockets: 100 });
const get = (url) => new Promise((resolve, reject) => http.get(url, { agent }, resolve).on('error', reject));

run({
  async download(url, file) {
    await pipeline(await get(url), fs.createWriteStream(file));
    return fs.statSync(file).size;
  },
  async request(url) {
    const response = await get(url);
    const parts = [];
    for await (const part of response) parts.push(part);
    return Buffer.concat(parts);
  },
  upload(url, file) {
    return new Promise((resolve, reject) => {
      const request = http.request(
        url,
        { method: 'PUT', agent, headers: { 'content-length': fs.statSync(file).size } },
        (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode));
        },
      );
      request.on('error', reject);
      fs.createReadStream(file).pipe(request);
    });
  },
  close: () => agent.destroy(),
}).catch((error) => {
  console.error(error);
  process.exit(1);
});
