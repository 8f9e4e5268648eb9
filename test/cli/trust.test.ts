// The CLI's trust: a private CA from --cacert, CURL_CA_BUNDLE, SSL_CERT_FILE (curl's order) and
// NODE_EXTRA_CA_CERTS, against an HTTPS server whose certificate that CA signed (made at test
// time); and a clear exit 2 when a named file cannot be used, never a hang on a FIFO.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp';
import { makeBytes, sha256, startTaskServer, type TaskServer } from '../helpers/task-server';
import { makeCertificates } from '../helpers/tls';
import { runCli } from '../helpers/terminal';

let server: TaskServer;
let dir: string;
let ca: string;
/** A valid certificate that signed nothing the server sends: trusting it alone trusts nothing. */
let other: string;

beforeAll(async () => {
  const certs = makeCertificates();
  server = await startTaskServer({ tls: { key: certs.key, cert: certs.cert } });
  dir = tempDir('urlsession-cli-trust-');
  ca = path.join(dir, 'ca.pem');
  fs.writeFileSync(ca, certs.caPem);
  other = path.join(dir, 'other.pem');
  fs.writeFileSync(other, certs.wrongHostCert);
});
afterAll(() => server.close());

/** No CA variable of the test's own environment leaks into a run. */
const NONE = { CURL_CA_BUNDLE: '', SSL_CERT_FILE: '', NODE_EXTRA_CA_CERTS: '' };
/** /echo answers with JSON naming the method; `key` tells the requests apart in server.seen. */
const url = (key: number): string => `${server.base}/echo?key=${key}`;
const fetch = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli(['request', ...args], { ...NONE, ...env });
const answered = (stdout: string): boolean =>
  stdout.startsWith('{') && (JSON.parse(stdout) as { method: string }).method === 'GET';

describe('urlsession CLI trust', () => {
  it('fails as untrusted without the CA, and succeeds with --cacert', async () => {
    const untrusted = await fetch([url(101)]);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toMatch(/\(error -1202\)\n$/);
    expect(untrusted.stdout).toBe('');
    const trusted = await fetch([url(102), '--cacert', ca]);
    expect(trusted.code).toBe(0);
    expect(answered(trusted.stdout)).toBe(true);
  });

  it('reads CURL_CA_BUNDLE, else SSL_CERT_FILE, as curl does; --cacert wins over both', async () => {
    for (const [env, args, trusted] of [
      [{ CURL_CA_BUNDLE: ca }, [], true],
      [{ SSL_CERT_FILE: ca }, [], true],
      [{ CURL_CA_BUNDLE: other, SSL_CERT_FILE: ca }, [], false],
      [{ CURL_CA_BUNDLE: ca }, ['--cacert', other], false],
      [{ CURL_CA_BUNDLE: other }, ['--cacert', other, '--cacert', ca], true],
    ] as const) {
      const run = await fetch([url(103), ...args], env);
      expect(run.code, JSON.stringify({ env, args })).toBe(trusted ? 0 : 1);
      if (trusted) expect(answered(run.stdout)).toBe(true);
      else expect(run.stderr).toContain('(error -1202)');
    }
  });

  it('adds NODE_EXTRA_CA_CERTS to whatever else is trusted, as Node does', async () => {
    const alone = await fetch([url(104)], { NODE_EXTRA_CA_CERTS: ca });
    expect(alone.code).toBe(0);
    expect(answered(alone.stdout)).toBe(true);
    const besides = await fetch([url(104), '--cacert', other], { NODE_EXTRA_CA_CERTS: ca });
    expect(besides.code).toBe(0);
    expect(answered(besides.stdout)).toBe(true);
  });

  it('get, put and resume take --cacert too', async () => {
    const out = tempDir('urlsession-cli-trust-');
    const got = await runCli(
      ['get', `${server.base}/file?size=100000&seed=105`, '-o', path.join(out, 'x.bin'), '--cacert', ca, '--json'],
      NONE,
    );
    expect(got.code).toBe(0);
    expect(sha256(fs.readFileSync(path.join(out, 'x.bin')))).toBe(sha256(makeBytes(100_000, 105)));
    const sent = path.join(out, 'x.bin');
    const put = await runCli(['put', `${server.base}/echo`, sent, '--cacert', ca, '-v', '--json'], NONE);
    expect(put.code).toBe(0);
    expect(JSON.parse(put.stdout.trim().split('\n').at(-1) as string)).toMatchObject({
      method: 'PUT',
      sha256: sha256(makeBytes(100_000, 105)),
    });
    const resume = await runCli(['resume', '--session', 'cli.trust.none', '--cacert', ca], {
      ...NONE,
      XDG_CACHE_HOME: out,
    });
    expect(resume.code).toBe(0);
    expect(resume.stderr).toContain('nothing to resume');
  });

  it('a named file that cannot be used stops the run with exit 2 and says which and why', async () => {
    const empty = path.join(dir, 'empty.pem');
    fs.writeFileSync(empty, 'no certificates here\n');
    const fifo = path.join(dir, 'fifo.pem');
    execFileSync('mkfifo', [fifo]);
    const missing = path.join(dir, 'missing.pem');
    for (const [args, env, message] of [
      [['--cacert', missing], {}, `--cacert ${missing}: cannot read it (ENOENT)`],
      [['--cacert', dir], {}, `--cacert ${dir}: not a regular file`],
      [['--cacert', fifo], {}, `--cacert ${fifo}: not a regular file`],
      [['--cacert', empty], {}, `--cacert ${empty}: no PEM certificate in it`],
      [[], { CURL_CA_BUNDLE: missing }, `CURL_CA_BUNDLE=${missing}: cannot read it (ENOENT)`],
      [[], { SSL_CERT_FILE: empty }, `SSL_CERT_FILE=${empty}: no PEM certificate in it`],
      [['--cacert', ca], { NODE_EXTRA_CA_CERTS: missing }, `NODE_EXTRA_CA_CERTS=${missing}: cannot read it (ENOENT)`],
    ] as const) {
      const run = await fetch([url(106), ...args], env);
      expect(run.code, message).toBe(2);
      // The last line, alone (Node itself warns about an unreadable NODE_EXTRA_CA_CERTS first).
      expect(run.stderr.split('\n').at(-2)).toBe(
        `urlsession: ${message}${message.includes('PEM') ? ' (-----BEGIN CERTIFICATE-----)' : ''}`,
      );
      expect(run.stderr).not.toContain('usage:');
      expect(run.stdout).toBe('');
    }
    expect(server.seen.filter((r) => r.url.includes('key=106'))).toEqual([]);
  });
});
