// HTTPS and HTTP/2 against servers with certificates made at test time: trust only through
// tls.ca, expired and wrong-host certificates, SPKI pins, https->http redirects, h2 metrics.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp';
import * as URLSession from '../../lib/index';
import { makeBytes, sha256, startTaskServer, type TaskServer } from '../helpers/task-server';
import { makeCertificates, type TestCertificates } from '../helpers/tls';

let certs: TestCertificates;
let https: TaskServer;
let h2: TaskServer;
let expired: TaskServer;
let wrongHost: TaskServer;
let plain: TaskServer;

beforeAll(async () => {
  certs = makeCertificates();
  https = await startTaskServer({ tls: { key: certs.key, cert: certs.cert } });
  h2 = await startTaskServer({ tls: { key: certs.key, cert: certs.cert }, http2: true });
  expired = await startTaskServer({ tls: { key: certs.expiredKey, cert: certs.expiredCert } });
  wrongHost = await startTaskServer({ tls: { key: certs.wrongHostKey, cert: certs.wrongHostCert } });
  plain = await startTaskServer();
});
afterAll(async () => {
  await Promise.all([https.close(), h2.close(), expired.close(), wrongHost.close(), plain.close()]);
});

function session(options: URLSession.SessionConfigurationOptions = {}): URLSession.Session {
  const dir = tempDir('urlsession-tls-');
  return URLSession.createSession({
    configuration: URLSession.createSessionConfiguration({ downloadDirectory: dir, ...options }),
  });
}

async function outcome(task: URLSession.Task<any>): Promise<number> {
  try {
    await task.done;
    return 0;
  } catch (error) {
    return (error as { errorCode: number }).errorCode;
  }
}

describe('HTTPS', () => {
  it('is refused (-1202) unless the test CA is trusted through tls.ca', async () => {
    const untrusting = session();
    const refused = untrusting.dataTask({ url: `${https.base}/echo` });
    const event = await new Promise<URLSession.SessionCompletedEvent>((resolve) =>
      untrusting.once('sessioncompleted', resolve),
    );
    expect(event).toMatchObject({ taskIdentifier: refused, success: false, errorCode: -1202 });
    untrusting.invalidateAndCancel();

    const trusting = session({ tls: { ca: certs.caPem } });
    const result = await trusting.download(`${https.base}/file?size=1000000&seed=91`).done;
    expect(createHash('sha256').update(fs.readFileSync(result.location)).digest('hex')).toBe(
      sha256(makeBytes(1_000_000, 91)),
    );
    expect(result.metrics.tlsMs).toBeGreaterThan(0);
    expect(https.seen.at(-1)?.httpVersion).toBe('1.1');
    trusting.invalidateAndCancel();
  });

  it('an expired certificate fails with -1201 and a wrong host with -1202, even with the CA trusted', async () => {
    const s = session({ tls: { ca: certs.caPem } });
    expect(await outcome(s.request(`${expired.base}/echo`, { retry: 0 }))).toBe(-1201);
    expect(await outcome(s.request(`${wrongHost.base}/echo`, { retry: 0 }))).toBe(-1202);
    s.invalidateAndCancel();
  });

  it('enforces SPKI pins: the right pin passes, a wrong one fails with -1202', async () => {
    const right = session({ tls: { ca: certs.caPem, pinnedPublicKeys: [`sha256/${certs.spkiPin}`] } });
    expect(await outcome(right.request(`${https.base}/echo`))).toBe(0);
    right.invalidateAndCancel();
    const wrongPin = createHash('sha256').update('another key').digest('base64');
    const wrong = session({ tls: { ca: certs.caPem, pinnedPublicKeys: [wrongPin] } });
    expect(await outcome(wrong.request(`${https.base}/echo`, { retry: 0 }))).toBe(-1202);
    wrong.invalidateAndCancel();
  });

  it('a pin whose base64 begins with "/" is kept whole, with or without the sha256/ prefix (the test certificate\'s pin does 1 time in 64)', () => {
    const slashPin = `/${'A'.repeat(42)}=`;
    for (const given of [slashPin, `sha256/${slashPin}`]) {
      const configuration = URLSession.createSessionConfiguration({
        persistent: false,
        tls: { pinnedPublicKeys: [given] },
      });
      expect(configuration.tls.pinnedPublicKeys).toEqual([slashPin]);
    }
  });

  it('refuses a redirect from https to http (-1022) unless allowsInsecureRedirects', async () => {
    const target = encodeURIComponent(`${plain.base}/file?size=10`);
    const strict = session({ tls: { ca: certs.caPem } });
    expect(await outcome(strict.request(`${https.base}/redirect/1?to=${target}`))).toBe(-1022);
    strict.invalidateAndCancel();
    const lenient = session({ tls: { ca: certs.caPem }, allowsInsecureRedirects: true });
    const result = await lenient.request(`${https.base}/redirect/1?to=${target}`).done;
    expect(result.body.length).toBe(10);
    expect(result.metrics.redirectCount).toBe(1);
    lenient.invalidateAndCancel();
  });
});

describe('HTTP/2', () => {
  it('downloads over h2 when the server offers it, many tasks multiplexed, bytes right', async () => {
    const s = session({ tls: { ca: certs.caPem } });
    const tasks = Array.from({ length: 8 }, (_, i) => s.download(`${h2.base}/file?size=500000&seed=${100 + i}`));
    const results = await Promise.all(tasks.map((t) => t.done));
    results.forEach((result, i) => {
      expect(result.metrics.protocol).toBe('h2');
      expect(createHash('sha256').update(fs.readFileSync(result.location)).digest('hex')).toBe(
        sha256(makeBytes(500_000, 100 + i)),
      );
    });
    expect(h2.seen.every((r) => r.httpVersion === '2.0')).toBe(true);
    // Multiplexed means one connection: the eight started together wait for the first to learn
    // that the server speaks h2 (NSURLSession does the same).
    expect(new Set(h2.seen.map((r) => r.remotePort)).size).toBe(1);
    const upload = await s.upload(`${h2.base}/echo`, makeBytes(300_000, 99)).done;
    expect(JSON.parse(upload.body.toString())).toMatchObject({
      length: 300_000,
      sha256: sha256(makeBytes(300_000, 99)),
    });
    s.invalidateAndCancel();
  });

  it('HTTPMaximumConnectionsPerHost limits connections: over h2 the tasks beyond it run as streams of one connection', async () => {
    const s = session({ tls: { ca: certs.caPem }, HTTPMaximumConnectionsPerHost: 2 });
    const ports = new Set(h2.seen.map((r) => r.remotePort));
    h2.resetPeakInFlight();
    const tasks = Array.from({ length: 10 }, (_, i) =>
      s.download(`${h2.base}/file?size=200000&seed=${300 + i}&chunk=20000&delay=20`),
    );
    const results = await Promise.all(tasks.map((t) => t.done));
    results.forEach((result, i) => {
      expect(createHash('sha256').update(fs.readFileSync(result.location)).digest('hex')).toBe(
        sha256(makeBytes(200_000, 300 + i)),
      );
    });
    // 2 connections' worth would mean at most 2 requests in progress at the server.
    expect(h2.peakInFlight()).toBeGreaterThan(2);
    expect(new Set(h2.seen.map((r) => r.remotePort).filter((p) => !ports.has(p))).size).toBe(1);
    s.invalidateAndCancel();
  });
});
