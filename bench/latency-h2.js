#!/usr/bin/env node
// `node bench/latency-h2.js [--runs 3] [--size 256M] [--before <checkout>]`: one large download in
// eight segments over bench/latency.js's path, over HTTP/1.1 (eight connections) against over
// HTTPS, where nginx answers with HTTP/2 (bench/nginx.js tls) and libcurl may carry every Range
// request as a stream of one connection, which the path's per-connection window then bounds;
// aria2c -x8 -s8 over the same HTTPS for reference (HTTP/1.1, eight connections). `--before`: a
// checkout of another build (its dist/ and build/) measured as one more tool, interleaved with
// this one. Every tool is a whole process under GNU time (bench/measure.js), side by side in
// rotating order after a warm-up round; one latency proxy per nginx port, in this process.
// Prints a Markdown table.
'use strict';
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startLatencyProxy, parseSize } = require('./latency-proxy');
const { PATH, aria2Args, countConnections } = require('./latency');
const { ensureGnuTime, measureSideBySide } = require('./measure');
const { ensureAria2 } = require('./ensure-peers');
const { startNginx } = require('./nginx');

const MiB = 1024 * 1024;
const PEER = (checkout) => path.join(checkout, 'bench', 'latency-peer-titanium.js');
const ARIA2 = 'aria2c -x8 -s8, https';

function rows(size, results, connections) {
  const fmt = (v, digits) => (v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits));
  const rate = (name) => size / 1e6 / results[name].wall.median;
  let text = `| tool | wall s median (min–max) | MB/s | × ${ARIA2} | connections | CPU s | peak RSS MiB |\n|---|---|---|---|---|---|---|\n`;
  for (const [name, m] of Object.entries(results)) {
    const conns = connections[name];
    text += `| ${name} | ${fmt(m.wall.median, 2)} (${fmt(m.wall.min, 2)}–${fmt(m.wall.max, 2)}) | ${fmt(rate(name), 1)} | ${fmt(rate(name) / rate(ARIA2), 2)} | ${Math.min(...conns)}–${Math.max(...conns)} | ${fmt(m.cpu.median, 2)} | ${fmt(m.rssMiB.median, 0)} |\n`;
  }
  return text;
}

async function main() {
  const argv = process.argv.slice(2);
  const option = (name, fallback) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : fallback);
  const runs = Number(option('runs', '3'));
  const size = parseSize(option('size', '256M'));
  const before = option('before', undefined);
  ensureGnuTime();
  const aria2 = ensureAria2();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'urlsession-bench-h2-'));
  const server = await startNginx({ 'big.bin': size }, { tls: true });
  const upstream = (base) => {
    const [host, port] = base.replace(/^https?:\/\//, '').split(':');
    return { host, port: Number(port) };
  };
  const plain = await startLatencyProxy({ upstream: upstream(server.base), ...PATH });
  const secure = await startLatencyProxy({ upstream: upstream(server.tlsBase), ...PATH });
  const started = Date.now();
  let text;
  try {
    const dir = path.join(work, 'out');
    const httpUrl = `${plain.base}/files/big.bin`;
    const httpsUrl = `https://127.0.0.1:${secure.port}/files/big.bin`;
    const want = createHash('sha256')
      .update(fs.readFileSync(path.join(server.files, 'big.bin')))
      .digest('hex');
    const checked = {
      before: () => {
        fs.rmSync(dir, { recursive: true, force: true });
        fs.mkdirSync(dir, { recursive: true });
      },
      after: () => {
        const files = fs.readdirSync(dir);
        const got =
          files.length === 1 &&
          createHash('sha256')
            .update(fs.readFileSync(path.join(dir, files[0])))
            .digest('hex');
        if (got !== want) throw new Error(`the download in ${dir} is not big.bin (${files.join(', ')})`);
      },
    };
    const segmented = (checkout, url, ca) => ({
      command: process.execPath,
      args: [PEER(checkout), 'segmented', url, '8', dir, ...(ca ? [ca] : [])],
      ...checked,
    });
    const here = path.join(__dirname, '..');
    // Each group's tools share the proxy whose connections they are counted on.
    const overHttp = { 'urlsession segments:8, http/1.1': segmented(here, httpUrl) };
    const overHttps = {
      'urlsession segments:8, https (h2)': segmented(here, httpsUrl, server.caFile),
      ...(before === undefined
        ? {}
        : { 'urlsession segments:8, https (h2), before': segmented(path.resolve(before), httpsUrl, server.caFile) }),
      [ARIA2]: {
        command: aria2,
        args: aria2Args(['-x8', '-s8', '-k1M', `--ca-certificate=${server.caFile}`], dir, ['-o', 'big.bin', httpsUrl]),
        ...checked,
      },
    };
    const connections = { ...countConnections(overHttp, plain), ...countConnections(overHttps, secure) };
    const results = await measureSideBySide({ ...overHttp, ...overHttps }, runs);
    const perConnection = PATH.windowBytes / (PATH.rttMs / 1000);
    const link = (PATH.rateMbps * 1e6) / 8;
    text = `Medians of ${runs} runs per tool after a warm-up round, side by side in rotating order; ${((Date.now() - started) / 1000).toFixed(0)} s; nginx ${server.version}.\n\n`;
    text += rows(size, results, connections);
    text += `\nOne ${size / MiB} MiB download. One connection moves at most ${(perConnection / 1e6).toFixed(1)} MB/s (window / RTT), all together at most ${(link / 1e6).toFixed(1)} MB/s: at best ${(PATH.rttMs / 1000 + size / link).toFixed(2)} s.\n`;
  } finally {
    await plain.close();
    await secure.close();
    server.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
  process.stdout.write(text);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
