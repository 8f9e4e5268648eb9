// node-libcurl (libcurl bound to Node, multi handle polled by libuv on the JS thread): the
// in-process peer the issue names for (c). Installed by bench/ensure-peers.js into bench/.peers
// (it builds from source against the system libcurl: its prebuilt binaries need GitHub).
// Small requests only: one Curl handle reused, so the connection is kept alive.
'use strict';
const path = require('node:path');
const { Curl, CurlFeature } = require(path.join(__dirname, '..', '.peers', 'node_modules', 'node-libcurl'));
const { run } = require('./harness');

const curl = new Curl();
curl.setOpt(Curl.option.NOSIGNAL, true);
// The body as the bytes received (its default decodes it to a string, which garbles binary data).
curl.enable(CurlFeature.NoDataParsing);

run({
  request: (url) =>
    new Promise((resolve, reject) => {
      curl.setOpt(Curl.option.URL, url);
      const onEnd = (status, data) => {
        curl.off('error', onError);
        if (status !== 200) reject(new Error(`status ${status}`));
        else resolve(Buffer.isBuffer(data) ? data : Buffer.from(data));
      };
      const onError = (error) => {
        curl.off('end', onEnd);
        reject(error);
      };
      curl.once('end', onEnd);
      curl.once('error', onError);
      curl.perform();
    }),
  close: () => curl.close(),
}).catch((error) => {
  console.error(error);
  process.exit(1);
});
