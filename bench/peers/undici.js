// undici.request (the HTTP client under Node's fetch, without fetch's Request/Response layer): a
// peer for (c), the small-request workload. Not a dependency: loaded from UNDICI, else from the
// scratch install `npm i --prefix /tmp/undici-bench undici@6` (bench/undici-path.js); bench/run.js
// skips this peer, saying so, when neither is there. Its global dispatcher keeps the connection alive.
'use strict';
const { undiciPath } = require('../undici-path');
const { run } = require('./harness');

const found = undiciPath();
if (found === undefined) {
  console.error('undici not found: set UNDICI or run `npm i --prefix /tmp/undici-bench undici@6`');
  process.exit(1);
}
const undici = require(found);

run({
  request: async (url) => {
    const { statusCode, body } = await undici.request(url);
    const bytes = Buffer.from(await body.arrayBuffer());
    if (statusCode !== 200) throw new Error(`status ${statusCode}`);
    return bytes;
  },
  close: () => undici.getGlobalDispatcher().close(),
}).catch((error) => {
  console.error(error);
  process.exit(1);
});
