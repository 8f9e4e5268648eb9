#!/usr/bin/env node
// `npm run bench` (full: medians of 5 runs, writes BENCHMARKS.md) and `npm run bench:quick`
// (small sizes, one run, prints the tables). Every tool runs as its own process against the same
// nginx on 127.0.0.1; ratios to the curl CLI and to the best Node peer are the headline. (g) runs
// through a path with latency instead (bench/latency.js); (i) is fetch() against Node's fetch and
// undici.request in one process (bench/fetch.js).
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startNginx } = require('./nginx');
const { ensureGnuTime, measure, measureSideBySide } = require('./measure');
const { ensureNodeLibcurl } = require('./ensure-peers');
const { runLatency } = require('./latency');
const { undiciPath, SCRATCH: UNDICI_SCRATCH } = require('./undici-path');

const QUICK = process.argv.includes('--quick');
const RUNS = QUICK ? 1 : 5;
const MiB = 1024 * 1024;
const SIZE = {
  big: QUICK ? 128 * MiB : 1024 * MiB,
  many: QUICK ? 128 : 1024,
  small: QUICK ? 500 : 2000,
  upload: QUICK ? 16 * MiB : 100 * MiB,
};
const NODE = process.execPath;
const PEERS = {
  urlsession: [NODE, [path.join(__dirname, 'peers', 'urlsession.js')]],
  fetch: [NODE, [path.join(__dirname, 'peers', 'fetch.mjs')]],
  'http.get': [NODE, [path.join(__dirname, 'peers', 'http-get.js')]],
  got: [NODE, [path.join(__dirname, 'peers', 'got.mjs')]],
  'node-downloader-helper': [NODE, [path.join(__dirname, 'peers', 'downloader-helper.js')]],
  'node-libcurl': [NODE, [path.join(__dirname, 'peers', 'node-libcurl.js')]],
  'undici.request': [NODE, [path.join(__dirname, 'peers', 'undici.js')]],
  // Diagnostic for (c): the engine and bridge without this library's JS layer. Not a peer.
  'urlsession engine only (diagnostic)': [NODE, [path.join(__dirname, 'peers', 'urlsession-engine-only.js')]],
};
const NODE_PEERS = ['fetch', 'http.get', 'got', 'node-downloader-helper', 'node-libcurl', 'undici.request'];
// node-libcurl and undici.request only take part in (c), the workload issue 20 names them for.
const DOWNLOAD_PEERS = Object.entries(PEERS).filter(
  ([name]) => !['node-libcurl', 'undici.request', 'urlsession engine only (diagnostic)'].includes(name),
);
const notes = [];
const SMALL_PEERS = ['urlsession', 'urlsession engine only (diagnostic)', 'fetch', 'http.get', 'got'];
// (f): every level downloads the same SCALE_COUNT files of 1 MiB; only the concurrency changes.
const SCALE_LEVELS = QUICK ? [1, 10, 100] : [1, 10, 100, 1000];
const SCALE_COUNT = QUICK ? 100 : 1000;
const CURL_MAX_PARALLEL = 300; // curl 7.88's ceiling for --parallel-max

const fmt = (n, digits = 0) => (n === undefined ? '–' : n.toFixed(digits));
const range = (s, digits = 0) =>
  s === undefined ? '–' : `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`;

function curlConfig(file, lines) {
  fs.writeFileSync(file, lines.join('\n'));
  return file;
}

async function main() {
  ensureGnuTime();
  const started = Date.now();
  const load = () =>
    os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
  const loadAtStart = load();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'urlsession-bench-'));
  const server = await startNginx({ 'big.bin': SIZE.big, '1m.bin': MiB, '1k.bin': 1024 });
  const uploadFile = path.join(work, 'upload.bin');
  fs.writeFileSync(uploadFile, require('node:crypto').randomBytes(SIZE.upload));
  const out = (name) => path.join(work, name);
  const clean = (dir) => () => {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
  };
  const results = {};
  const bare = await measure(NODE, ['-e', ''], RUNS);

  try {
    // (a) one big download to a file, (e) event-loop delay during it.
    const bigUrl = `${server.base}/files/big.bin`;
    const aTools = { curl: { command: 'curl', args: ['-s', '-o', out('a.curl'), bigUrl] } };
    for (const [name, [cmd, args]] of DOWNLOAD_PEERS)
      aTools[name] = { command: cmd, args: [...args, 'one', bigUrl, out(`a.${name}`)] };
    for (const [name, tool] of Object.entries(aTools)) {
      // Each tool writes a new file: truncating or replacing last run's 1 GiB is not the workload.
      tool.before = () => fs.rmSync(out(`a.${name}`), { force: true });
      tool.after = () => {
        if (fs.statSync(out(`a.${name}`)).size !== SIZE.big) throw new Error(`(a) ${name} wrote a wrong size`);
      };
    }
    results.a = await measureSideBySide(aTools, RUNS);
    for (const name of Object.keys(aTools)) fs.rmSync(out(`a.${name}`), { force: true });

    // (b) many 1 MiB downloads, 100 at a time, each to its own file.
    const dir = out('b');
    const urls = Array.from(
      { length: SIZE.many },
      (_, i) => `url = "${server.base}/files/1m.bin?i=${i}"\noutput = "${dir}/f${i}"`,
    );
    const config = curlConfig(out('b.curl'), urls);
    const check = () => {
      const files = fs.readdirSync(dir);
      if (files.length !== SIZE.many || files.some((f) => fs.statSync(path.join(dir, f)).size !== MiB))
        throw new Error('(b) wrong files');
    };
    const bTools = { curl: { command: 'curl', args: ['-s', '--parallel', '--parallel-max', '100', '-K', config] } };
    for (const [name, [cmd, args]] of DOWNLOAD_PEERS)
      bTools[name] = {
        command: cmd,
        args: [...args, 'many', `${server.base}/files/1m.bin`, String(SIZE.many), '100', dir],
      };
    for (const tool of Object.values(bTools)) Object.assign(tool, { before: clean(dir), after: check });
    results.b = await measureSideBySide(bTools, RUNS);

    // (h) the same files one at a time: each download starts when the last one finished. curl
    // gets the same list without --parallel (one process, one connection reused throughout).
    const hTools = { curl: { command: 'curl', args: ['-s', '-K', config] } };
    for (const [name, [cmd, args]] of DOWNLOAD_PEERS)
      hTools[name] = { command: cmd, args: [...args, 'series', `${server.base}/files/1m.bin`, String(SIZE.many), dir] };
    for (const tool of Object.values(hTools)) Object.assign(tool, { before: clean(dir), after: check });
    results.h = await measureSideBySide(hTools, RUNS);

    // (c) sequential small requests on keep-alive.
    const smallUrl = `${server.base}/files/1k.bin`;
    const smallConfig = curlConfig(
      out('c.curl'),
      Array.from({ length: SIZE.small }, () => `url = "${smallUrl}"\noutput = "/dev/null"`),
    );
    const cTools = { curl: { command: 'curl', args: ['-s', '-K', smallConfig] } };
    // node-libcurl is (c)'s reference peer; bench:quick only uses it once a full run installed it.
    const smallPeers = ensureNodeLibcurl({ install: !QUICK }) ? [...SMALL_PEERS, 'node-libcurl'] : [...SMALL_PEERS];
    if (!smallPeers.includes('node-libcurl'))
      notes.push('node-libcurl was not available for (c): run `npm run bench` once to install it into bench/.peers.');
    // undici is not a dependency: it comes from $UNDICI or a scratch install, and is skipped without.
    if (undiciPath() !== undefined) smallPeers.push('undici.request');
    else
      notes.push(
        `undici was not available for (c) and (h): set UNDICI or run \`npm i --prefix /tmp/undici-bench undici@6\` (looked in ${UNDICI_SCRATCH}).`,
      );
    for (const name of smallPeers)
      cTools[name] = { command: PEERS[name][0], args: [...PEERS[name][1], 'small', smallUrl, String(SIZE.small)] };
    results.c = await measureSideBySide(cTools, RUNS);

    // (d) one upload from a file.
    const dTools = {
      curl: { command: 'curl', args: ['-s', '-T', uploadFile, '-o', '/dev/null', '-w', '', `${server.base}/upload`] },
    };
    for (const name of ['urlsession', 'fetch', 'http.get', 'got'])
      dTools[name] = {
        command: PEERS[name][0],
        args: [...PEERS[name][1], 'upload', `${server.base}/upload`, uploadFile],
      };
    results.d = await measureSideBySide(dTools, RUNS);

    // (f) scaling of this library: the same SCALE_COUNT × 1 MiB with 1, 10, 100, 1000 tasks running
    // at once (the session's per-host limit), and memory per idle task.
    const f = (results.f = {});
    const [cmd, args] = PEERS.urlsession;
    const levels = Object.fromEntries(
      SCALE_LEVELS.map((n) => [
        n,
        {
          command: cmd,
          args: [...args, 'many', `${server.base}/files/1m.bin`, String(SCALE_COUNT), String(n), dir],
          before: clean(dir),
        },
      ]),
    );
    // The curl CLI at the same levels, as the machine's own reference for "flat": how much of the
    // drop at high concurrency is the kernel's (curl caps --parallel-max at 300).
    const scaleConfig = curlConfig(
      out('f.curl'),
      Array.from(
        { length: SCALE_COUNT },
        (_, i) => `url = "${server.base}/files/1m.bin?i=${i}"\noutput = "${dir}/f${i}"`,
      ),
    );
    for (const n of SCALE_LEVELS) {
      const parallel = n === 1 ? [] : ['--parallel', '--parallel-max', String(Math.min(n, CURL_MAX_PARALLEL))];
      levels[`curl ${n}`] = { command: 'curl', args: ['-s', ...parallel, '-K', scaleConfig], before: clean(dir) };
    }
    // Levels in rotating rounds too: creating thousands of files slows ext4's inode allocator as
    // deleted inodes pile up, which would otherwise penalise whichever level runs last.
    const runs = await measureSideBySide(levels, Math.min(RUNS, 3));
    for (const n of SCALE_LEVELS) {
      const idle = await measure(
        NODE,
        [
          '--expose-gc',
          '--max-semi-space-size=1',
          path.join(__dirname, 'idle-tasks.js'),
          `${server.base}/slow/1k.bin`,
          String(n),
          out('idle'),
        ],
        1,
      );
      f[n] = { run: runs[n], curl: runs[`curl ${n}`], idleKiB: idle.samples[0].report.perTaskKiB };
    }
  } finally {
    server.stop();
  }
  // (g) the same kinds of work over a path with latency, with its own nginx (bench/latency.js).
  results.g = await runLatency({ quick: QUICK });
  // (i) fetch() against Node's fetch and undici.request, in one process against one Node server.
  results.i = runFetch();

  const report = render(results, bare, {
    quick: QUICK,
    runs: RUNS,
    seconds: (Date.now() - started) / 1000,
    loadAtStart,
    loadAtEnd: load(),
    nginx: server.version,
  });
  fs.rmSync(work, { recursive: true, force: true });
  if (QUICK) process.stdout.write(report);
  else {
    fs.writeFileSync(path.join(__dirname, '..', 'BENCHMARKS.md'), report);
    process.stdout.write(report);
  }
}

// bench/fetch.js in its own process: its clients alternate round-robin, medians of RUNS rounds.
function runFetch() {
  const downloadMiB = QUICK ? 128 : 1024;
  const output = execFileSync(NODE, [path.join(__dirname, 'fetch.js'), String(RUNS), String(downloadMiB), '--json'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(output.trim().split('\n').at(-1));
}

function fetchSection(h) {
  const ours = h.clients['urlsession fetch'];
  let text = `### (i) fetch() against Node's fetch and undici.request\n\nOne process (\`node bench/fetch.js\`), one local Node server in it, the clients alternating round-robin; the median of ${h.rounds} rounds (min–max). undici ${undiciPath() === undefined ? 'was not available (its row is missing)' : 'from $UNDICI or the scratch install (not a dependency)'}.\n\n`;
  text += `| client | ${h.requests} sequential 1 KiB GETs, ms median (min–max) | × ours (time) | ${h.downloadMiB} MiB download, body discarded, MiB/s | × ours (rate) |\n|---|---|---|---|---|\n`;
  for (const [name, c] of Object.entries(h.clients))
    text += `| ${name} | ${fmt(c.smallMs)} (${fmt(c.smallMsRange[0])}–${fmt(c.smallMsRange[1])}) | ${fmt(c.smallMs / ours.smallMs, 2)} | ${fmt(c.downloadMiBps)} | ${fmt(c.downloadMiBps / ours.downloadMiBps, 2)} |\n`;
  return `${text}\n`;
}

function throughput(bytes, m) {
  return { median: bytes / 1e6 / m.wall.median, min: bytes / 1e6 / m.wall.max, max: bytes / 1e6 / m.wall.min };
}

// Throughput from the time the workload took inside its process (no start-up).
function inProcess(amount, m) {
  const t = m.inProcessMs;
  return t === undefined
    ? undefined
    : { median: amount / (t.median / 1000), min: amount / (t.max / 1000), max: amount / (t.min / 1000) };
}

function table(title, bytesOrCount, unit, entries, bare) {
  const rows = Object.entries(entries).map(([name, m]) => ({ name, rate: throughput(bytesOrCount, m), m }));
  const curl = rows.find((r) => r.name === 'curl');
  const nodePeers = rows.filter((r) => NODE_PEERS.includes(r.name));
  const best = nodePeers.reduce((a, r) => (a === undefined || r.rate.median > a.rate.median ? r : a), undefined);
  let text = `### ${title}\n\n| tool | ${unit} median (min–max) | CPU s | peak RSS MiB | × curl | × best Node peer | in-process ${unit} |\n|---|---|---|---|---|---|---|\n`;
  for (const r of rows) {
    // In-process: the workload alone, without Node's ~80 ms start-up (curl has none to remove).
    const inside = unit === 'MB/s' ? inProcess(bytesOrCount / 1e6, r.m) : undefined;
    text += `| ${r.name} | ${range(r.rate)} | ${range(r.m.cpu, 2)} | ${range(r.m.rssMiB)} | ${fmt(r.rate.median / curl.rate.median, 2)} | ${best ? fmt(r.rate.median / best.rate.median, 2) : '–'} | ${inside ? fmt(inside.median) : '–'} |\n`;
  }
  text += `\nBest Node peer: ${best?.name}. Bare \`node -e ''\` peak RSS: ${fmt(bare.rssMiB.median)} MiB.\n\n`;
  return { text, curl, best, ours: rows.find((r) => r.name === 'urlsession') };
}

function verdict(ok) {
  return ok ? 'met' : '**missed**';
}

function render(results, bare, meta) {
  const MB = 1;
  const versions = {
    node: process.version,
    curl: execFileSync('curl', ['--version'], { encoding: 'utf8' }).split('\n')[0],
    cpu: (os.cpus()[0] || {}).model,
  };
  let text = `# Benchmarks\n\n${meta.quick ? 'Quick run (bench:quick: small sizes, one run).' : 'Full run (`npm run bench`), medians of 5 runs with min–max.'}\n\n`;
  text += `- Machine: ${os.cpus().length} cores (${versions.cpu}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}\n`;
  text += `- Node ${versions.node}; ${versions.curl}; nginx ${meta.nginx}\n`;
  text += `- Date: ${new Date().toISOString()}; suite wall time ${meta.seconds.toFixed(0)} s; load average at start ${meta.loadAtStart}, at end ${meta.loadAtEnd}\n`;
  text += `- Each tool is a whole process measured by GNU time (wall, user+sys CPU, peak RSS), against nginx on 127.0.0.1 (sendfile on, access log off).\n\n`;
  const a = table(`(a) one ${SIZE.big / MiB} MiB download to a file`, SIZE.big, 'MB/s', results.a, bare);
  const b = table(`(b) ${SIZE.many} × 1 MiB downloads, 100 at a time`, SIZE.many * MiB, 'MB/s', results.b, bare);
  const c = table(
    `(c) ${SIZE.small} sequential 1 KiB requests on keep-alive (whole process)`,
    SIZE.small * 1e6,
    'req/s',
    results.c,
    bare,
  );
  // (c)'s target is in-process: requests per second once the client is up.
  const cIn = Object.fromEntries(
    Object.entries(results.c)
      .filter(([name]) => name !== 'curl')
      .map(([name, m]) => [name, inProcess(SIZE.small, m)]),
  );
  const cBestIn = Object.entries(cIn)
    .filter(([name]) => NODE_PEERS.includes(name))
    .sort((x, y) => y[1].median - x[1].median)[0];
  const d = table(`(d) one ${SIZE.upload / MiB} MiB upload from a file`, SIZE.upload, 'MB/s', results.d, bare);
  const h = table(`(h) ${SIZE.many} × 1 MiB downloads, one at a time`, SIZE.many * MiB, 'MB/s', results.h, bare);
  text += a.text + b.text + h.text + c.text;
  text += `In-process (the ${SIZE.small} requests only, after start-up):\n\n| tool | req/s median (min–max) | × best Node peer |\n|---|---|---|\n`;
  for (const [name, rate] of Object.entries(cIn))
    text += `| ${name} | ${range(rate)} | ${fmt(rate.median / cBestIn[1].median, 2)} |\n`;
  text += `\n` + d.text;
  text += `### (e) event-loop delay during (a)\n\n| tool | p50 ms | p99 ms |\n|---|---|---|\n`;
  for (const name of ['urlsession', 'fetch', 'http.get', 'got', 'node-downloader-helper']) {
    text += `| ${name} | ${range(results.a[name].p50, 2)} | ${range(results.a[name].p99, 2)} |\n`;
  }
  text += `\n### (f) scaling of urlsession\n\n| tasks at once | MB/s median (min–max) | peak RSS MiB | RSS per idle task KiB | curl CLI at the same level, MB/s (whole process) |\n|---|---|---|---|---|\n`;
  for (const [n, r] of Object.entries(results.f)) {
    const curlLevel = Number(n) > CURL_MAX_PARALLEL ? ` (at ${CURL_MAX_PARALLEL}, its maximum)` : '';
    text += `| ${n} | ${range(inProcess((SCALE_COUNT * MiB) / 1e6, r.run))} | ${fmt(r.run.rssMiB.median)} | ${fmt(r.idleKiB, 1)} | ${range(throughput(SCALE_COUNT * MiB, r.curl))}${curlLevel} |\n`;
  }
  text += `\nEvery level downloads the same ${SCALE_COUNT} × 1 MiB, each to its own file, with that many tasks running at once (the session's per-host limit); throughput is in-process (the downloads only). RSS per idle task is the marginal cost of N more trickling tasks after the first N (N halved at 1,000), measured after a full GC with V8's young generation held at 1 MiB (bench/idle-tasks.js); at 1 and 10 tasks it is below the allocator's granularity.\n`;
  text += `\n${results.g}`;
  text += `\n${fetchSection(results.i)}`;
  // Targets from the issue, checked against this run.
  const targets = [];
  const rss = bare.rssMiB.median + 25;
  for (const [label, t] of [
    ['(a)', a],
    ['(b)', b],
    ['(d)', d],
  ]) {
    const vsCurl = t.ours.rate.median / t.curl.rate.median;
    const vsBest = t.best ? t.ours.rate.median / t.best.rate.median : NaN;
    const cpu = t.ours.m.cpu.median / t.curl.m.cpu.median;
    targets.push(`| ${label} throughput ≥ 0.95× curl | ${fmt(vsCurl, 2)}× | ${verdict(vsCurl >= 0.95)} |`);
    targets.push(
      `| ${label} throughput ≥ 2× best Node peer (${t.best?.name}) | ${fmt(vsBest, 2)}× | ${verdict(vsBest >= 2)} |`,
    );
    targets.push(`| ${label} CPU ≤ 1.2× curl | ${fmt(cpu, 2)}× | ${verdict(cpu <= 1.2)} |`);
    targets.push(
      `| ${label} peak RSS ≤ bare node + 25 MiB (${fmt(rss)} MiB) | ${fmt(t.ours.m.rssMiB.median)} MiB | ${verdict(t.ours.m.rssMiB.median <= rss)} |`,
    );
  }
  const hVsCurl = h.ours.rate.median / h.curl.rate.median;
  targets.push(`| (h) throughput ≥ 0.95× curl | ${fmt(hVsCurl, 2)}× | ${verdict(hVsCurl >= 0.95)} |`);
  const cRatio = cIn.urlsession.median / cBestIn[1].median;
  targets.push(
    `| (c) in-process ≥ 1.1× best Node peer (${cBestIn[0]}; issue 20) | ${fmt(cRatio, 2)}× | ${verdict(cRatio >= 1.1)} |`,
  );
  const fetched = results.i.clients;
  const iRatio = fetched['Node fetch'].smallMs / fetched['urlsession fetch'].smallMs;
  targets.push(
    `| (i) fetch() ahead of Node's fetch, ${results.i.requests} sequential small requests (issue 19) | ${fmt(iRatio, 2)}× | ${verdict(iRatio > 1)} |`,
  );
  const iDownload = fetched['urlsession fetch'].downloadMiBps / fetched['Node fetch'].downloadMiBps;
  targets.push(
    `| (i) fetch() ahead of Node's fetch, one ${results.i.downloadMiB} MiB download (issue 19) | ${fmt(iDownload, 2)}× | ${verdict(iDownload > 1)} |`,
  );
  const p99 = results.a.urlsession.p99?.median;
  targets.push(`| (e) event-loop p99 ≤ 2 ms | ${fmt(p99, 2)} ms | ${verdict(p99 !== undefined && p99 <= 2)} |`);
  // One or ten tasks cannot resolve a per-task cost below the allocator's granularity.
  const idle = Math.max(
    ...Object.entries(results.f)
      .filter(([n]) => Number(n) >= 100)
      .map(([, r]) => r.idleKiB),
  );
  targets.push(
    `| (f) RSS per idle task ≤ 64 KiB (100+ tasks) | ${fmt(idle, 1)} KiB (worst) | ${verdict(idle <= 64)} |`,
  );
  const scale = Object.entries(results.f)
    .filter(([n]) => Number(n) >= 10)
    .map(([, r]) => inProcess((SCALE_COUNT * MiB) / 1e6, r.run).median);
  const flat = Math.min(...scale) / Math.max(...scale);
  const curlScale = Object.entries(results.f)
    .filter(([n]) => Number(n) >= 10)
    .map(([, r]) => throughput(SCALE_COUNT * MiB, r.curl).median);
  const curlFlat = Math.min(...curlScale) / Math.max(...curlScale);
  targets.push(
    `| (f) throughput flat from 10 to ${Object.keys(results.f).at(-1)} tasks (min/max ≥ 0.8) | ${fmt(flat, 2)} (curl CLI: ${fmt(curlFlat, 2)}) | ${verdict(flat >= 0.8)} |`,
  );
  text += `\n## Targets\n\n| target | this run | |\n|---|---|---|\n${targets.join('\n')}\n`;
  if (notes.length > 0) text += `\n${notes.map((n) => `- ${n}`).join('\n')}\n`;
  text += fs.readFileSync(path.join(__dirname, 'ANALYSIS.md'), 'utf8');
  void MB;
  return text;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
