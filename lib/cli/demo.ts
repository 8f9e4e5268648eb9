// `urlsession demo`: the offline tour. Starts a loopback HTTP server in this process,
// downloads and uploads generated files through the native engine with live progress,
// verifies every sha256 and prints a summary. Needs no network. Sizes are decimal (MB), as
// everywhere in the CLI (reporter.ts formatBytes). Runs on the main thread.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as URLSession from '../index';
import { forwardTitaniumEvents } from './get';
import { onInterrupt, parseCommand } from './common';
import { UsageError } from './errors';
import { createReporter, formatBytes, type TransferView } from './reporter';

/** The served file is BLOCK_BYTES of random bytes, repeated. */
const BLOCK_BYTES = 1_000_000;
const DOWNLOAD_BYTES = 64 * BLOCK_BYTES;
const UPLOAD_BYTES = 32 * BLOCK_BYTES;

interface DemoServer {
  url: string;
  downloadSha256: string;
  close(): Promise<void>;
}

// Serves DOWNLOAD_BYTES of one repeated random block at /file and hashes uploads to /upload.
function startServer(): Promise<DemoServer> {
  const block = randomBytes(BLOCK_BYTES);
  const expected = createHash('sha256');
  for (let sent = 0; sent < DOWNLOAD_BYTES; sent += block.length) expected.update(block);
  const downloadSha256 = expected.digest('hex');
  const server = http.createServer((req, res) => {
    if (req.url === '/file') {
      res.writeHead(200, { 'content-length': DOWNLOAD_BYTES, 'content-type': 'application/octet-stream' });
      let sent = 0;
      const pump = (): void => {
        while (sent < DOWNLOAD_BYTES) {
          sent += block.length;
          if (!res.write(block)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    } else if (req.url === '/upload' && req.method === 'POST') {
      const hash = createHash('sha256');
      let length = 0;
      req.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        length += chunk.length;
      });
      req.on('end', () => res.end(JSON.stringify({ length, sha256: hash.digest('hex') })));
    } else {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        downloadSha256,
        close: () => new Promise((done) => server.close(() => done())),
      });
    });
  });
}

function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    fs.createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

export async function runDemo(argv: string[]): Promise<number> {
  const parsed = parseCommand('demo', argv, { json: { type: 'boolean' } });
  if (parsed === undefined) return 0;
  if (parsed.positionals.length > 0) throw new UsageError('demo takes no arguments', 'demo');
  const out = process.stderr;
  const reporter = createReporter(parsed.values.json === true);
  // Everything the demo writes is in `work`, removed at the end, also after a Ctrl-C.
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'urlsession-demo-'));
  const release = onInterrupt(() => {
    reporter.stop();
    fs.rmSync(work, { recursive: true, force: true });
    out.write('interrupted: the demo removed its files\n');
    process.exit(130);
  });
  const server = await startServer();
  const uploadFile = path.join(work, 'upload.bin');
  fs.writeFileSync(uploadFile, randomBytes(UPLOAD_BYTES));
  const uploadSha256 = await sha256File(uploadFile);

  reporter.note(`urlsession demo: engine ${URLSession.engine}, loopback server ${server.url}`);
  const configuration = URLSession.createSessionConfiguration({
    identifier: `urlsession.demo.${process.pid}`,
    persistent: false,
    downloadDirectory: path.join(work, 'downloads'),
  });
  const session = URLSession.createSession({ configuration });
  forwardTitaniumEvents(session, reporter);
  const lines = new Map<number, TransferView>();
  const started = process.hrtime.bigint();
  const results: string[] = [];
  /** The sha256 checks of downloaded files, which end after the events do. */
  const checks: Promise<void>[] = [];
  let failures = 0;

  const done = new Promise<void>((resolve) => {
    session.on('downloadprogress', (e) =>
      lines.get(e.taskIdentifier)?.update(e.totalBytesWritten, e.totalBytesExpectedToWrite, e.bytesWritten, e),
    );
    session.on('uploadprogress', (e) =>
      lines.get(e.taskIdentifier)?.update(e.totalBytesSent, e.totalBytesExpectedToSend, e.bytesSent, e),
    );
    session.on('downloadcompleted', (e) => {
      const check = sha256File(e.location).then((actual) => {
        const ok = actual === server.downloadSha256;
        if (!ok) failures++;
        results.push(
          `download: ${ok ? 'ok' : 'MISMATCH'}  ${formatBytes(DOWNLOAD_BYTES)}, sha256 ${actual.slice(0, 16)}…`,
        );
      });
      checks.push(check);
    });
    session.on('sessioncompleted', (e) => {
      lines.get(e.taskIdentifier)?.done(e.success ? 'ok' : 'failed');
      if (!e.success) {
        failures++;
        results.push(`task ${e.taskIdentifier} failed: ${e.message} (error ${e.errorCode})`);
      } else if (e.responseText !== undefined) {
        const reply = JSON.parse(e.responseText) as { length: number; sha256: string };
        const ok = reply.sha256 === uploadSha256 && reply.length === UPLOAD_BYTES;
        if (!ok) failures++;
        results.push(
          `upload:   ${ok ? 'ok' : 'MISMATCH'}  server saw ${formatBytes(reply.length)}, sha256 ${reply.sha256.slice(0, 16)}…`,
        );
      }
    });
    session.on('sessioneventscompleted', () => resolve());
  });

  lines.set(
    session.downloadTask({ url: `${server.url}/file` }),
    reporter.add(`download ${formatBytes(DOWNLOAD_BYTES)}`),
  );
  lines.set(
    session.uploadTask({ url: `${server.url}/upload`, data: uploadFile }),
    reporter.add(`upload ${formatBytes(UPLOAD_BYTES)}`),
  );
  await done;
  await Promise.all(checks);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  session.finishTasksAndInvalidate();
  await server.close();
  reporter.stop();
  release();
  for (const line of results) out.write(`${line}\n`);
  const moved = formatBytes(DOWNLOAD_BYTES + UPLOAD_BYTES);
  out.write(
    `${failures === 0 ? 'all transfers verified' : `${failures} failure(s)`}: ${moved} in ${seconds.toFixed(2)} s\n`,
  );
  fs.rmSync(work, { recursive: true, force: true });
  out.write(`the demo's files were in ${work}, now removed\n`);
  return failures === 0 ? 0 : 1;
}
