// A focused workload for `npm run test:valgrind`: every engine path once (download, upload from
// file and memory, data task, cancel, HTTP error, refused connection, cookies past their limits,
// reset/flush, both kinds of invalidation, a persistent session's lock) against a loopback server
// in this process. Exits 0 when every outcome is right.
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const URLSession = require(path.join(__dirname, '..', 'dist', 'index.js'));

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'urlsession-valgrind-'));
const server = http.createServer((req, res) => {
  if (req.url === '/slow') {
    res.writeHead(200, { 'content-length': 10_000_000 });
    const timer = setInterval(() => res.write(Buffer.alloc(1000)), 20);
    res.on('close', () => clearInterval(timer));
    return;
  }
  if (req.url === '/missing') return void res.writeHead(404).end('nope');
  // 50 new cookies per response: four of them fill a domain past its limit (evictions).
  if (req.url.startsWith('/cookies?r=')) {
    const r = req.url.slice('/cookies?r='.length);
    res.setHeader(
      'Set-Cookie',
      Array.from({ length: 50 }, (_, j) => `r${r}c${j}=v`),
    );
    return void res.end('set');
  }
  if (req.url === '/sent-cookies') return void res.end(req.headers.cookie ?? '');
  let length = 0;
  req.on('data', (chunk) => (length += chunk.length));
  req.on('end', () => res.end(req.method === 'GET' ? Buffer.alloc(200_000, 1) : String(length)));
});

server.listen(0, '127.0.0.1', async () => {
  const base = `http://127.0.0.1:${server.address().port}`;
  const file = path.join(dir, 'up.bin');
  fs.writeFileSync(file, Buffer.alloc(300_000, 2));
  const session = URLSession.createSession({
    configuration: URLSession.createSessionConfiguration({
      downloadDirectory: dir,
      stateDirectory: path.join(dir, 'state'),
    }),
  });
  const failures = [];
  const check = (name, ok) => ok || failures.push(name);
  const download = await session.download(`${base}/file`).done;
  check('download', fs.statSync(download.location).size === 200_000);
  check('upload file', (await session.upload(`${base}/up`, file).done).body.toString() === '300000');
  check('upload memory', (await session.upload(`${base}/up`, Buffer.alloc(1234)).done).body.toString() === '1234');
  check('data', (await session.request(`${base}/data`, { body: { a: 1 } }).done).statusCode === 200);
  check('http error', (await session.download(`${base}/missing`).done.catch((e) => e.statusCode)) === 404);
  check(
    'refused',
    (await session.request('http://127.0.0.1:1/', { retry: 0 }).done.catch((e) => e.errorCode)) === -1004,
  );
  const slow = session.download(`${base}/slow`);
  await new Promise((resolve) => slow.once('progress', resolve));
  slow.cancel();
  check('cancel', (await slow.done.catch((e) => e.errorCode)) === -999);
  for (let r = 0; r < 4; r++) await session.request(`${base}/cookies?r=${r}`).done;
  const sent = (await session.request(`${base}/sent-cookies`).done).body.toString().split('; ');
  check('cookie limits', sent.length === 150 && !sent.some((cookie) => cookie.startsWith('r0c')));
  await session.flush();
  check('cookie jar', (fs.statSync(path.join(dir, 'state', 'cookies.txt')).mode & 0o777) === 0o600);
  await session.reset();
  const left = session.download(`${base}/slow`);
  left.done.catch(() => undefined);
  await new Promise((resolve) => left.once('progress', resolve));
  session.invalidateAndCancel();
  await new Promise((resolve) => session.once('invalidated', resolve));
  const second = URLSession.createSession({ configuration: URLSession.createSessionConfiguration() });
  await second.request(`${base}/data`).done;
  second.finishTasksAndInvalidate();
  await new Promise((resolve) => second.once('invalidated', resolve));
  // A persistent session: the state folder's OS lock taken, refused to a second session, released.
  const persistentOptions = {
    identifier: 'valgrind.persistent',
    downloadDirectory: dir,
    stateDirectory: path.join(dir, 'persistent'),
  };
  const persistent = URLSession.createSession({
    configuration: URLSession.createSessionConfiguration(persistentOptions),
  });
  check('persistent download', fs.statSync((await persistent.download(`${base}/file`).done).location).size === 200_000);
  let refused;
  try {
    URLSession.createSession({
      configuration: URLSession.createSessionConfiguration({ ...persistentOptions, identifier: 'valgrind.other' }),
    });
  } catch (error) {
    refused = error.code;
  }
  check('lock held', refused === 'ERR_URLSESSION_SESSION_LOCKED');
  persistent.finishTasksAndInvalidate();
  await new Promise((resolve) => persistent.once('invalidated', resolve));
  const again = URLSession.createSession({ configuration: URLSession.createSessionConfiguration(persistentOptions) });
  again.invalidateAndCancel();
  await new Promise((resolve) => again.once('invalidated', resolve));
  server.close();
  fs.rmSync(dir, { recursive: true, force: true });
  if (failures.length > 0) {
    console.error(`valgrind workload: wrong outcomes: ${failures.join(', ')}`);
    process.exit(1);
  }
  console.log('valgrind workload: all outcomes right');
});
