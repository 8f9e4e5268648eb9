#!/usr/bin/env node
// `node bench/journal-rate.js [--runs 3] [--size 256M] [--latency] [--only 8|1]`: what a
// persistent session's journal writes while one large download runs (issue 18): appends
// (write calls into the state folder), fsyncs there and bytes, in total and per second, for the same
// download with segments: 8 and with one request, from nginx on 127.0.0.1 (bench/nginx.js),
// directly or (--latency) through bench/latency-proxy.js's path of bench/latency.js (its own
// process, so that it does not share this event loop). Counted in this process by wrapping fs.writeSync,
// fs.fsyncSync and fs.fdatasyncSync (the journal's writes, lib/journal.ts, lib/state-directory.ts)
// and asking /proc which file each descriptor is. Prints one JSON line per run and a Markdown table of the medians.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const URLSession = require(path.join(__dirname, '..', 'dist', 'index.js'));
const { spawn } = require('node:child_process');
const { startNginx } = require('./nginx');
const { parseSize } = require('./latency-proxy');

const counts = { appends: 0, fsyncs: 0, bytes: 0 };
const STATE = `${path.sep}state${path.sep}`;
const isJournal = (fd) => {
  try {
    const file = fs.readlinkSync(`/proc/self/fd/${fd}`);
    return file.includes('urlsession-bench-journal-') && file.includes(STATE);
  } catch {
    return false;
  }
};
const { writeSync, fsyncSync, fdatasyncSync } = fs;
fs.writeSync = function (fd, buffer, ...rest) {
  const written = writeSync.call(fs, fd, buffer, ...rest);
  if (isJournal(fd)) {
    counts.appends++;
    counts.bytes += written;
  }
  return written;
};
fs.fsyncSync = function (fd) {
  if (isJournal(fd)) counts.fsyncs++;
  return fsyncSync.call(fs, fd);
};
fs.fdatasyncSync = function (fd) {
  if (isJournal(fd)) counts.fsyncs++;
  return fdatasyncSync.call(fs, fd);
};

let sessions = 0;

async function once(url, segments, work) {
  try {
    const configuration = URLSession.createSessionConfiguration({
      identifier: `journal-rate-${++sessions}`,
      stateDirectory: path.join(work, 'state'),
      downloadDirectory: path.join(work, 'out'),
      HTTPMaximumConnectionsPerHost: 8,
    });
    const s = URLSession.createSession({ configuration });
    const before = { ...counts };
    const started = process.hrtime.bigint();
    const result = await s.download(url, segments > 1 ? { segments } : {}).done;
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const size = fs.statSync(result.location).size;
    await new Promise((resolve) => {
      s.on('invalidated', resolve);
      s.finishTasksAndInvalidate();
    });
    const counted = Object.fromEntries(Object.keys(counts).map((k) => [k, counts[k] - before[k]]));
    return { segments, seconds, size, ...counted };
  } finally {
    // Whatever happened, nothing of the run stays behind.
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** bench/latency.js's path (50 ms RTT, 1 MiB window, 400 Mbit/s) in a process of its own. */
function startProxy(upstream) {
  const args = ['--upstream', upstream.replace('http://', ''), '--rtt', '50', '--window', '1M', '--rate', '400'];
  const child = spawn(process.execPath, [path.join(__dirname, 'latency-proxy.js'), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`latency proxy exited (${code})`)));
    child.stdout.once('data', (line) => {
      const port = /127\.0\.0\.1:(\d+)/.exec(String(line))[1];
      resolve({ child, base: `http://127.0.0.1:${port}` });
    });
  });
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main() {
  const argv = process.argv.slice(2);
  const option = (name, fallback) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : fallback);
  const runs = Number(option('runs', '3'));
  const size = parseSize(option('size', '256M'));
  const server = await startNginx({ 'big.bin': size });
  const proxy = argv.includes('--latency') ? await startProxy(server.base) : undefined;
  const results = { 8: [], 1: [] };
  try {
    const url = `${proxy?.base ?? server.base}/files/big.bin`;
    for (let i = 0; i <= runs; i++) {
      // A/B interleaved; run 0 of each is the warm-up, not counted.
      for (const segments of option('only', undefined) === undefined ? [8, 1] : [Number(option('only'))]) {
        const run = await once(url, segments, fs.mkdtempSync(path.join(os.tmpdir(), 'urlsession-bench-journal-')));
        process.stdout.write(`${JSON.stringify({ warmup: i === 0, ...run })}\n`);
        if (i > 0) results[segments].push(run);
      }
    }
  } finally {
    proxy?.child.kill();
    server.stop();
  }
  let text =
    '| download | wall s | journal appends | fsyncs | journal bytes | appends/s | fsyncs/s | bytes/s |\n|---|---|---|---|---|---|---|---|\n';
  for (const [segments, list] of Object.entries(results).reverse()) {
    if (list.length === 0) continue;
    const m = (key) => median(list.map((r) => r[key]));
    const perSecond = (key) => median(list.map((r) => r[key] / r.seconds));
    text += `| ${segments === '1' ? 'one request' : `segments: ${segments}`} | ${m('seconds').toFixed(2)} | ${m('appends')} | ${m('fsyncs')} | ${m('bytes')} | ${perSecond('appends').toFixed(1)} | ${perSecond('fsyncs').toFixed(1)} | ${perSecond('bytes').toFixed(0)} |\n`;
  }
  process.stdout.write(`\n${text}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
