// Which CA certificates a CLI run trusts besides the system's, and reading them. The files
// come from --cacert, else from curl's variables (CURL_CA_BUNDLE, then SSL_CERT_FILE), plus
// NODE_EXTRA_CA_CERTS as Node reads it. Their PEM goes to the session's tls.ca, which adds to
// the system's certificates and never replaces them. Runs on the main thread before any task.
import * as fs from 'node:fs';
import { SetupError } from './errors';

/** A CA bundle larger than this is not one (the system's whole bundle is far smaller). */
const MAX_BUNDLE_BYTES = 16 * 1024 * 1024;

interface Source {
  file: string;
  /** How the user named it, for messages: "--cacert" or "CURL_CA_BUNDLE=". */
  origin: string;
}

/** The files to trust, in the order they are read. An empty variable counts as unset. */
export function trustSources(cacert: readonly string[] | undefined, env: NodeJS.ProcessEnv = process.env): Source[] {
  const sources: Source[] = (cacert ?? []).map((file) => ({ file, origin: '--cacert ' }));
  // curl: --cacert wins over CURL_CA_BUNDLE, which wins over SSL_CERT_FILE.
  if (sources.length === 0) {
    const variable = ['CURL_CA_BUNDLE', 'SSL_CERT_FILE'].find((name) => env[name]);
    if (variable !== undefined) sources.push({ file: env[variable] as string, origin: `${variable}=` });
  }
  // Node adds these to whatever else is trusted, whatever else was named.
  if (env.NODE_EXTRA_CA_CERTS) sources.push({ file: env.NODE_EXTRA_CA_CERTS, origin: 'NODE_EXTRA_CA_CERTS=' });
  return sources;
}

/**
 * The PEM text of every source. A file that cannot be read, is not a regular file or holds no
 * certificate is a SetupError naming it: trusting less than the user asked for would fail
 * later with a misleading "untrusted" error, or not at all.
 */
export function readTrust(sources: readonly Source[]): string[] {
  return sources.map(({ file, origin }) => {
    const fail = (why: string): never => {
      throw new SetupError(`${origin}${file}: ${why}`);
    };
    let fd: number;
    try {
      // O_NONBLOCK: a FIFO named here is refused below instead of waited on.
      fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    } catch (error) {
      return fail(`cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
    try {
      const stat = fs.fstatSync(fd);
      if (!stat.isFile()) fail('not a regular file');
      if (stat.size > MAX_BUNDLE_BYTES) fail('too large for a CA bundle');
      const pem = fs.readFileSync(fd, 'utf8');
      if (!pem.includes('-----BEGIN CERTIFICATE-----')) fail('no PEM certificate in it (-----BEGIN CERTIFICATE-----)');
      return pem;
    } catch (error) {
      if (error instanceof SetupError) throw error;
      return fail(`cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    } finally {
      fs.closeSync(fd);
    }
  });
}

/** What the session should trust besides the system: the PEM of --cacert and the variables. */
export function trustedCertificates(cacert: readonly string[] | undefined): string[] {
  return readTrust(trustSources(cacert));
}
