// `urlsession demo`: the offline tour. Starts a loopback HTTP server in this process,
// downloads and uploads generated files through the native engine with live progress,
// verifies every sha256 and prints a summary. Needs no network.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as URLSession from '../index';
import { forwardTitaniumEvents } from './get';
import { createReporter } from './reporter';

const DOWNLOAD_BYTES = 64 * 1024 * 1024;
const UPLOAD_BYTES = 32 * 1024 * 1024;

interface DemoServer {
  url: string;
  downloadSha256: string;
  close(): Promise<void>;
}

// Serves DOWNLOAD_BYTES of one repeated random MiB at /file and hashes uploads to /upload.
function startServer(): Promise<DemoServer> {
  const block = randomBytes(1024 * 1024);
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

export async function runDemo(json = false): Promise<number> {
  const out = process.stderr;
  const reporter = createReporter(json);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'urlsession-demo-'));
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
  const downloadLine = reporter.add('download 64 MiB');
  const uploadLine = reporter.add('upload   32 MiB');
  const started = process.hrtime.bigint();
  const results: string[] = [];
  let failures = 0;

  const done = new Promise<void>((resolve) => {
    session.on('downloadprogress', (e) => downloadLine.update(e.totalBytesWritten, e.totalBytesExpectedToWrite, e.bytesWritten));
    session.on('uploadprogress', (e) => uploadLine.update(e.totalBytesSent, e.totalBytesExpectedToSend, e.bytesSent));
    session.on('downloadcompleted', (e) => {
      downloadLine.done(true);
      void sha256File(e.location).then((actual) => {
        const ok = actual === server.downloadSha256;
        if (!ok) failures++;
        results.push(`download: ${ok ? 'ok' : 'MISMATCH'}  sha256 ${actual.slice(0, 16)}…  -> ${e.location}`);
      });
    });
    session.on('sessioncompleted', (e) => {
      if (!e.success) {
        failures++;
        results.push(`task ${e.taskIdentifier} failed: ${e.errorCode} ${e.message}`);
      } else if (e.responseText !== undefined) {
        uploadLine.done(true);
        const reply = JSON.parse(e.responseText) as { length: number; sha256: string };
        const ok = reply.sha256 === uploadSha256 && reply.length === UPLOAD_BYTES;
        if (!ok) failures++;
        results.push(`upload:   ${ok ? 'ok' : 'MISMATCH'}  server saw ${reply.length} bytes, sha256 ${reply.sha256.slice(0, 16)}…`);
      }
    });
    session.on('sessioneventscompleted', () => resolve());
  });

  session.downloadTask({ url: `${server.url}/file` });
  session.uploadTask({ url: `${server.url}/upload`, data: uploadFile });
  await done;
  await new Promise((resolve) => setImmediate(resolve));
  // Let the last sha256 of the downloaded file finish.
  while (results.length < 2) await new Promise((resolve) => setTimeout(resolve, 10));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  session.finishTasksAndInvalidate();
  await server.close();
  reporter.stop();
  for (const line of results) out.write(`${line}\n`);
  const megabytes = (DOWNLOAD_BYTES + UPLOAD_BYTES) / 1e6;
  out.write(`${failures === 0 ? 'all transfers verified' : `${failures} failure(s)`}: ${megabytes.toFixed(0)} MB in ${seconds.toFixed(2)} s\n`);
  fs.rmSync(work, { recursive: true, force: true });
  return failures === 0 ? 0 : 1;
}
