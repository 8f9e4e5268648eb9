#!/usr/bin/env node
// `node bench/latency.js [--quick]`: the three workloads over a path with real latency (issue 20):
// one large download, many 64 KiB downloads 20 at a time, and sequential 1 KiB requests, through
// bench/latency-proxy.js in front of nginx. urlsession (Titanium's downloadTask/dataTask, and the
// promise API, and a download in eight segments) against the curl CLI and aria2c with one
// connection per download (-x1) and with eight segments (-x8 -s8). Prints a Markdown section;
// bench/run.js appends the same section to BENCHMARKS.md (runLatency). Every tool is a whole
// process under GNU time (bench/measure.js); the proxy runs in this process.
'use strict';
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startLatencyProxy } = require('./latency-proxy');
const { ensureGnuTime, measureSideBySide } = require('./measure');
const { ensureAria2 } = require('./ensure-peers');
const { startNginx } = require('./nginx');

const KiB = 1024;
const MiB = 1024 * KiB;
// The path: 50 ms round trip, at most 1 MiB in flight per connection and direction (so one
// connection moves at most 1 MiB per round trip), one 400 Mbit/s link shared by all connections.
const PATH = { rttMs: 50, windowBytes: 1 * MiB, rateMbps: 400 };
const MANY_AT_ONCE = 20;
const NODE = process.execPath;
const TITANIUM_PEER = path.join(__dirname, 'latency-peer-titanium.js');
const PROMISE_PEER = path.join(__dirname, 'peers', 'urlsession.js');

function sizes(quick) {
  return quick ? { big: 64 * MiB, many: 100, small: 50, runs: 1 } : { big: 256 * MiB, many: 200, small: 200, runs: 3 };
}

const sha256 = (file) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

function emptyDir(dir) {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
}

/** The files in `dir` are exactly `count` copies of `source` (by sha256). */
function expectCopies(dir, count, source, label) {
  const files = fs.readdirSync(dir);
  const want = sha256(source);
  if (files.length !== count) throw new Error(`${label}: ${files.length} files in ${dir}, expected ${count}`);
  for (const name of files)
    if (sha256(path.join(dir, name)) !== want)
      throw new Error(`${label}: ${name} differs from ${path.basename(source)}`);
}

const ARIA2 = { '-x1': ['-x1', '-s1'], '-x8 -s8': ['-x8', '-s8', '-k1M'] };

function aria2Args(flags, dir, rest) {
  return [
    '-q',
    '--allow-overwrite=true',
    '--auto-file-renaming=false',
    '--file-allocation=none',
    '--summary-interval=0',
    ...flags,
    '-d',
    dir,
    ...rest,
  ];
}

/** The tools of one workload, each { command, args, before, after }; `dir` is emptied before every run and checked after. */
function workloads(base, work, n, files) {
  const aria2 = ensureAria2();
  const dir = path.join(work, 'out');
  const list = (name, lines) => {
    const file = path.join(work, name);
    fs.writeFileSync(file, lines.join('\n') + '\n');
    return file;
  };
  const bigUrl = `${base}/files/big.bin`;
  const manyUrl = `${base}/files/64k.bin`;
  const smallUrl = `${base}/files/1k.bin`;
  const manyCurl = list(
    'many.curl',
    Array.from({ length: n.many }, (_, i) => `url = "${manyUrl}?i=${i}"\noutput = "${dir}/f${i}"`),
  );
  const manyAria2 = list(
    'many.aria2',
    Array.from({ length: n.many }, (_, i) => `${manyUrl}?i=${i}\n  out=f${i}`),
  );
  const smallCurl = list(
    'small.curl',
    Array.from({ length: n.small }, () => `url = "${smallUrl}"\noutput = "/dev/null"`),
  );
  const smallAria2 = list(
    'small.aria2',
    Array.from({ length: n.small }, (_, i) => `${smallUrl}?i=${i}\n  out=s${i}`),
  );
  const checked = (count, source, label) => ({
    before: () => emptyDir(dir),
    after: () => expectCopies(dir, count, source, label),
  });

  const one = {
    'urlsession downloadTask': { command: NODE, args: [TITANIUM_PEER, 'one', bigUrl, dir] },
    'urlsession download()': { command: NODE, args: [PROMISE_PEER, 'one', bigUrl, path.join(dir, 'big.bin')] },
    'urlsession segments:8': { command: NODE, args: [TITANIUM_PEER, 'segmented', bigUrl, '8', dir] },
    curl: { command: 'curl', args: ['-sf', '-o', path.join(dir, 'big.bin'), bigUrl] },
  };
  const many = {
    'urlsession downloadTask': {
      command: NODE,
      args: [TITANIUM_PEER, 'many', manyUrl, String(n.many), String(MANY_AT_ONCE), dir],
    },
    'urlsession download()': {
      command: NODE,
      args: [PROMISE_PEER, 'many', manyUrl, String(n.many), String(MANY_AT_ONCE), dir],
    },
    curl: { command: 'curl', args: ['-sf', '--parallel', '--parallel-max', String(MANY_AT_ONCE), '-K', manyCurl] },
  };
  const small = {
    'urlsession dataTask': { command: NODE, args: [TITANIUM_PEER, 'small', smallUrl, String(n.small)] },
    'urlsession request()': { command: NODE, args: [PROMISE_PEER, 'small', smallUrl, String(n.small)] },
    curl: { command: 'curl', args: ['-sf', '-K', smallCurl] },
  };
  for (const [label, flags] of Object.entries(ARIA2)) {
    one[`aria2c ${label}`] = { command: aria2, args: aria2Args(flags, dir, ['-o', 'big.bin', bigUrl]) };
    many[`aria2c ${label}`] = {
      command: aria2,
      args: aria2Args(flags, dir, ['-j', String(MANY_AT_ONCE), '-i', manyAria2]),
    };
    small[`aria2c ${label}`] = { command: aria2, args: aria2Args(flags, dir, ['-j', '1', '-i', smallAria2]) };
  }
  for (const tool of Object.values(one)) Object.assign(tool, checked(1, path.join(files, 'big.bin'), 'one'));
  for (const tool of Object.values(many)) Object.assign(tool, checked(n.many, path.join(files, '64k.bin'), 'many'));
  for (const [name, tool] of Object.entries(small)) {
    // Only aria2c writes the small responses to files; the others read them into memory or /dev/null.
    if (name.startsWith('aria2c')) Object.assign(tool, checked(n.small, path.join(files, '1k.bin'), 'small'));
  }
  return { one, many, small };
}

/** Wraps every tool's before/after to count the connections the proxy accepted during its run. */
function countConnections(tools, proxy) {
  const counts = {};
  for (const [name, tool] of Object.entries(tools)) {
    const { before, after } = tool;
    let at = 0;
    counts[name] = [];
    tool.before = () => {
      if (before) before();
      at = proxy.stats.connections;
    };
    tool.after = (sample) => {
      counts[name].push(proxy.stats.connections - at);
      if (after) after(sample);
    };
  }
  return counts;
}

const fmt = (v, digits = 0) => (v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits));

function table(title, unit, amount, results, connections, floorSeconds) {
  const rate = (m) => amount / m.wall.median;
  const ref = (name) => (results[name] ? rate(results[name]) : undefined);
  const curl = ref('curl');
  const x1 = ref('aria2c -x1');
  const x8 = ref('aria2c -x8 -s8');
  let text = `#### ${title}\n\n| tool | wall s median (min–max) | ${unit} | × curl | × aria2c -x1 | × aria2c -x8 -s8 | connections | in-process s | CPU s | peak RSS MiB |\n|---|---|---|---|---|---|---|---|---|---|\n`;
  for (const [name, m] of Object.entries(results)) {
    const r = rate(m);
    const conns = connections[name];
    const inside = m.inProcessMs ? fmt(m.inProcessMs.median / 1000, 2) : '–';
    text += `| ${name} | ${fmt(m.wall.median, 2)} (${fmt(m.wall.min, 2)}–${fmt(m.wall.max, 2)}) | ${fmt(r, unit === 'MB/s' ? 1 : 0)} | ${fmt(r / curl, 2)} | ${fmt(r / x1, 2)} | ${fmt(r / x8, 2)} | ${conns.length ? `${Math.min(...conns)}–${Math.max(...conns)}` : '–'} | ${inside} | ${fmt(m.cpu.median, 2)} | ${fmt(m.rssMiB.median)} |\n`;
  }
  text += `\nWhat the path allows at best: ${fmt(floorSeconds, 2)} s.\n\n`;
  return text;
}

/** Runs the three workloads; returns the Markdown section. */
async function runLatency({ quick }) {
  ensureGnuTime();
  const n = sizes(quick);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'urlsession-bench-latency-'));
  const server = await startNginx({ 'big.bin': n.big, '64k.bin': 64 * KiB, '1k.bin': KiB });
  const [host, port] = server.base.replace('http://', '').split(':');
  const proxy = await startLatencyProxy({ upstream: { host, port: Number(port) }, ...PATH });
  const started = Date.now();
  const results = {};
  try {
    const tools = workloads(proxy.base, work, n, server.files);
    for (const [name, set] of Object.entries(tools)) {
      const connections = countConnections(set, proxy);
      results[name] = { runs: await measureSideBySide(set, n.runs), connections };
    }
  } finally {
    await proxy.close();
    server.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
  const rttS = PATH.rttMs / 1000;
  const perConnection = PATH.windowBytes / rttS; // bytes per second
  const link = (PATH.rateMbps * 1e6) / 8;
  const MB = 1e6;
  let text = `### (g) over a path with latency: ${PATH.rttMs} ms round trip, ${PATH.windowBytes / MiB} MiB window per connection, ${PATH.rateMbps} Mbit/s link\n\n`;
  text += `${quick ? 'Quick run, one run per tool' : `Medians of ${n.runs} runs per tool`} after a warm-up round, side by side in rotating order; ${((Date.now() - started) / 1000).toFixed(0)} s. `;
  text += `The path is bench/latency-proxy.js on loopback in front of nginx: one connection moves at most ${fmt(perConnection / MB, 1)} MB/s (window / RTT), all together at most ${fmt(link / MB, 1)} MB/s. `;
  text += `"connections": TCP connections the proxy accepted during one run of the tool (min–max over the runs).\n\n`;
  // Best cases: the big file on one connection (or at the link's rate with eight); the many files
  // as rounds of 20 at one round trip each plus a handshake; each small request one round trip.
  text += table(
    `one ${n.big / MiB} MiB download`,
    'MB/s',
    n.big / MB,
    results.one.runs,
    results.one.connections,
    rttS + n.big / Math.min(perConnection, link),
  );
  text += table(
    `${n.many} × 64 KiB downloads, ${MANY_AT_ONCE} at a time`,
    'MB/s',
    (n.many * 64 * KiB) / MB,
    results.many.runs,
    results.many.connections,
    rttS + Math.ceil(n.many / MANY_AT_ONCE) * rttS,
  );
  text += table(
    `${n.small} sequential 1 KiB requests`,
    'req/s',
    n.small,
    results.small.runs,
    results.small.connections,
    rttS + n.small * rttS,
  );
  return text;
}

if (require.main === module) {
  runLatency({ quick: process.argv.includes('--quick') }).then(
    (text) => process.stdout.write(text),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}

module.exports = { runLatency, PATH, aria2Args, countConnections };
