// Runs one command as a whole process under GNU time: wall seconds, user+sys CPU seconds,
// peak RSS; plus whatever JSON the command printed last on stdout (in-process figures).
'use strict';
const { spawn, execFileSync, spawnSync } = require('node:child_process');

function ensureGnuTime() {
  if (spawnSync('sh', ['-c', 'test -x /usr/bin/time']).status === 0) return;
  execFileSync(
    'sh',
    ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null'],
    { stdio: 'inherit' },
  );
}

function runOnce(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', 'TIME %e %U %S %M', command, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: options.cwd,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => {
      const line = stderr
        .split('\n')
        .reverse()
        .find((l) => l.startsWith('TIME '));
      if (code !== 0 || line === undefined)
        return reject(new Error(`${command} ${args.join(' ')} failed (${code}): ${stderr.slice(-500)}`));
      const [, wall, user, sys, rssKiB] = line.split(' ').map(Number);
      const last = stdout.trim().split('\n').pop();
      let report = {};
      try {
        report = last ? JSON.parse(last) : {};
      } catch {
        report = {};
      }
      resolve({ wall, cpu: user + sys, rssMiB: rssKiB / 1024, report });
    });
  });
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

// Dirty pages a previous run left behind are written back by kernel threads on the same two
// cores while the next tool runs; that alone moved curl between 400 and 870 MB/s run to run.
// Every run therefore starts with the page cache clean.
function settle() {
  spawnSync('sync');
}

async function measure(command, args, runs, options) {
  const samples = [];
  for (let i = 0; i < runs; i++) {
    if (options?.before) options.before();
    settle();
    samples.push(await runOnce(command, args, options));
    if (options?.after) options.after(samples.at(-1));
  }
  return summarize(samples);
}

/**
 * Side by side: `runs` rounds, each running every tool once (the order rotates per round, so no
 * tool always runs right after the same neighbour), after one warm-up round that is discarded
 * (the VM's first touch of fresh memory made whichever tool ran first ~2× slower).
 * tools: { name: { command, args, before?, after? } } -> { name: summary }
 */
async function measureSideBySide(tools, runs) {
  const names = Object.keys(tools);
  const samples = Object.fromEntries(names.map((name) => [name, []]));
  for (let round = -1; round < runs; round++) {
    const offset = Math.max(round, 0) % names.length;
    for (const name of [...names.slice(offset), ...names.slice(0, offset)]) {
      const tool = tools[name];
      if (tool.before) tool.before();
      settle();
      const sample = await runOnce(tool.command, tool.args, tool);
      if (tool.after) tool.after(sample);
      if (round >= 0) samples[name].push(sample);
    }
  }
  return Object.fromEntries(names.map((name) => [name, summarize(samples[name])]));
}

function summarize(samples) {
  const stat = (pick) => {
    const values = samples.map(pick).filter((v) => typeof v === 'number' && Number.isFinite(v));
    return values.length === 0
      ? undefined
      : { median: median(values), min: Math.min(...values), max: Math.max(...values) };
  };
  return {
    wall: stat((s) => s.wall),
    cpu: stat((s) => s.cpu),
    rssMiB: stat((s) => s.rssMiB),
    p50: stat((s) => s.report.loopDelayP50Ms),
    p99: stat((s) => s.report.loopDelayP99Ms),
    inProcessMs: stat((s) => s.report.elapsedMs),
    samples,
  };
}

module.exports = { ensureGnuTime, measure, measureSideBySide, median };
