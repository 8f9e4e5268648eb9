// A segmented download over HTTP/2 (issue 18): the GET answers over h2, and every Range request
// opens a connection of its own instead of becoming a stream of the GET's connection, whose
// one window would bound them all (bench/ANALYSIS.md, "Segments over HTTP/2"). Against a real
// h2-only TLS server on 127.0.0.1 (test/helpers/task-server.ts, certificates made by
// test/helpers/tls.ts); byte-exact.
import * as fs from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as URLSession from '../../lib/index';
import { liveSessions } from '../helpers/sessions';
import { tempDir } from '../helpers/temp';
import { makeBytes, sha256, useTaskServer } from '../helpers/task-server';
import { makeCertificates, type TestCertificates } from '../helpers/tls';

let certs: TestCertificates;
beforeAll(() => {
  certs = makeCertificates();
});
const server = useTaskServer({
  get tls() {
    return { key: certs.key, cert: certs.cert };
  },
  http2: true,
});
const live = liveSessions();
const MiB = 1 << 20;

describe('segmented downloads over HTTP/2', () => {
  it('every Range request has a connection of its own, and the file is byte-exact', async () => {
    const configuration = URLSession.createSessionConfiguration({
      downloadDirectory: tempDir('urlsession-seg-h2-'),
      HTTPMaximumConnectionsPerHost: 4,
      tls: { ca: certs.caPem },
    });
    const s = URLSession.createSession({ configuration });
    live.push(s);
    const size = 8 * MiB + 7;
    const key = 'h2';
    // Paced, so that every segment is still running while the others start.
    const result = await s.download(`${server.base}/segfile?size=${size}&seed=24&key=${key}&delay=5&chunk=65536`, {
      segments: 4,
    }).done;
    expect(sha256(fs.readFileSync(result.location))).toBe(sha256(makeBytes(size, 24)));
    const requests = server.seen.filter((r) => r.url.includes(`key=${key}&`));
    const ranges = requests.filter((r) => r.headers.range !== undefined);
    expect(requests.every((r) => r.httpVersion === '2.0')).toBe(true);
    expect(ranges.length).toBeGreaterThanOrEqual(3);
    // The GET and each Range request: one client port (one connection) each.
    expect(new Set(requests.map((r) => r.remotePort)).size).toBe(requests.length);
  });
});
