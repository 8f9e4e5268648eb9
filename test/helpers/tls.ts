// Test certificates made at test time with the openssl CLI: a CA, a server certificate for
// 127.0.0.1/localhost signed by it, and an expired one. Nothing is committed.
import { execFileSync } from 'node:child_process';
import { createHash, createPublicKey } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../helpers/temp';

export interface TestCertificates {
  caPem: string;
  key: string;
  cert: string;
  expiredKey: string;
  expiredCert: string;
  /** Valid and signed by the CA, but for another host name (other.invalid). */
  wrongHostKey: string;
  wrongHostCert: string;
  /** base64 sha256 of the server certificate's SubjectPublicKeyInfo (for tls.pinnedPublicKeys). */
  spkiPin: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'ignore' });
}

export function makeCertificates(): TestCertificates {
  const dir = tempDir('urlsession-tls-');
  const san = 'subjectAltName=IP:127.0.0.1,DNS:localhost';
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '2',
      '-subj',
      '/CN=urlsession test CA',
    ],
    dir,
  );
  for (const [name, days] of [
    ['server', '2'],
    ['expired', '1'],
    ['wronghost', '2'],
  ] as const) {
    openssl(
      [
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.csr`,
        '-subj',
        name === 'wronghost' ? '/CN=other.invalid' : '/CN=127.0.0.1',
      ],
      dir,
    );
    fs.writeFileSync(
      path.join(dir, `${name}.ext`),
      `${name === 'wronghost' ? 'subjectAltName=DNS:other.invalid' : san}\n`,
    );
    const validity =
      name === 'expired' ? ['-not_before', '20200101000000Z', '-not_after', '20200102000000Z'] : ['-days', days];
    // `openssl ca` would need a config; `x509 -req` with explicit dates needs OpenSSL >= 3.0 for -not_before.
    const sign = [
      ...['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial'],
      ...['-out', `${name}.pem`, '-extfile', `${name}.ext`],
    ];
    try {
      openssl([...sign, ...validity], dir);
    } catch {
      openssl([...sign, '-days', name === 'expired' ? '-1' : days], dir);
    }
  }
  const read = (file: string): string => fs.readFileSync(path.join(dir, file), 'utf8');
  const cert = read('server.pem');
  const spki = createPublicKey(cert).export({ type: 'spki', format: 'der' });
  const result = {
    caPem: read('ca.pem'),
    key: read('server.key'),
    cert,
    expiredKey: read('expired.key'),
    expiredCert: read('expired.pem'),
    wrongHostKey: read('wronghost.key'),
    wrongHostCert: read('wronghost.pem'),
    spkiPin: createHash('sha256').update(spki).digest('base64'),
  };
  fs.rmSync(dir, { recursive: true, force: true });
  return result;
}
