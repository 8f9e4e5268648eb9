// fetch() against Node's fetch and undici's request, in one process, to one local server:
// 2,000 sequential 1 KiB GETs (each body read whole), and one 1 GiB download whose body is read
// and discarded. Runs alternate between the clients (round-robin, `rounds` times) so drift on a
// shared machine hits each the same; prints the median per client and its ratio to ours.
// undici is not a dependency: it is loaded from UNDICI=/path/to/node_modules/undici, else from the
// scratch install `npm i --prefix /tmp/undici-bench undici@6` (bench/undici-path.js); without
// either its row is left out, saying so.
// Usage: node bench/fetch.js [rounds=3] [downloadMiB=1024] [--json]   (after npm run build)
// --json prints one JSON line instead of the tables (bench/run.js renders section (i) from it).
'use strict';
const http = require('node:http');
const path = require('node:path');
const URLSession = require(path.join(__dirname, '..', 'dist', 'index.js'));
const { sendSized } = require('./sized-body');
const { undiciPath } = require('./undici-path');

const JSON_OUTPUT = process.argv.includes('--json');
const [roundsArg, downloadArg] = process.argv.slice(2).filter((arg) => arg !== '--json');
const ROUNDS = Number(roundsArg ?? 3);
const DOWNLOAD = Number(downloadArg ?? 1024) << 20;
const SMALL = Buffer.alloc(1024, 0x62);
const CHUNK = Buffer.alloc(256 * 1024, 0x61);
const REQUESTS = 2000;

function loadUndici() {
  const found = undiciPath();
  return found === undefined ? undefined : require(found);
}

function startServer() {
  const server = http.createServer((req, res) => {
    const size = Number(new URL(req.url, 'http://x').searchParams.get('size') ?? 0);
    if (size === 0) return void res.end(SMALL);
    sendSized(res, size, CHUNK);
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function discard(stream) {
  let bytes = 0;
  for await (const chunk of stream) bytes += chunk.byteLength;
  return bytes;
}

function clients(undici) {
  const session = URLSession.createSession({ configuration: URLSession.createSessionConfiguration({}) });
  const list = {
    'urlsession fetch': {
      small: async (url) => (await session.fetch(url)).arrayBuffer(),
      large: async (url) => discard((await session.fetch(url)).body),
    },
    'Node fetch': {
      small: async (url) => (await fetch(url)).arrayBuffer(),
      large: async (url) => discard((await fetch(url)).body),
    },
  };
  if (undici !== undefined) {
    list['undici.request'] = {
      small: async (url) => (await undici.request(url)).body.arrayBuffer(),
      large: async (url) => discard((await undici.request(url)).body),
    };
  }
  return { list, close: () => session.invalidateAndCancel() };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main() {
  const server = await startServer();
  const base = `http://127.0.0.1:${server.address().port}`;
  const { list, close } = clients(loadUndici());
  const names = Object.keys(list);
  const small = Object.fromEntries(names.map((n) => [n, []]));
  const large = Object.fromEntries(names.map((n) => [n, []]));
  for (const name of names) await list[name].small(`${base}/`); // warm: connections, JIT
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of names) {
      const start = process.hrtime.bigint();
      for (let i = 0; i < REQUESTS; i++) await list[name].small(`${base}/?i=${i}`);
      small[name].push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    for (const name of names) {
      const start = process.hrtime.bigint();
      const bytes = await list[name].large(`${base}/?size=${DOWNLOAD}`);
      if (bytes !== DOWNLOAD) throw new Error(`${name}: ${bytes} of ${DOWNLOAD} bytes`);
      large[name].push(Number(process.hrtime.bigint() - start) / 1e6);
    }
  }
  const ours = names[0];
  const rate = (name) => DOWNLOAD / 1048576 / (median(large[name]) / 1000);
  if (JSON_OUTPUT) {
    const result = { rounds: ROUNDS, requests: REQUESTS, downloadMiB: DOWNLOAD >> 20, clients: {} };
    for (const name of names)
      result.clients[name] = {
        smallMs: median(small[name]),
        smallMsRange: [Math.min(...small[name]), Math.max(...small[name])],
        downloadMiBps: rate(name),
      };
    console.log(JSON.stringify(result));
  } else {
    console.log(`${REQUESTS} sequential 1 KiB GETs (median of ${ROUNDS}, ms; ratio to ${ours})`);
    for (const name of names) {
      const ms = median(small[name]);
      console.log(`  ${name.padEnd(18)} ${ms.toFixed(0).padStart(7)}  ${(ms / median(small[ours])).toFixed(2)}x`);
    }
    console.log(`${DOWNLOAD >> 20} MiB download, body discarded (median of ${ROUNDS}, MiB/s; ratio to ${ours})`);
    for (const name of names)
      console.log(
        `  ${name.padEnd(18)} ${rate(name).toFixed(0).padStart(7)}  ${(rate(name) / rate(ours)).toFixed(2)}x`,
      );
    if (!names.includes('undici.request'))
      console.log('  (undici not found: set UNDICI=… or `npm i --prefix /tmp/undici-bench undici@6` for its row)');
  }
  close();
  server.closeAllConnections();
  server.close();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
