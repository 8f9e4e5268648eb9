// fetch()'s `integrity`: the response body checked against Subresource Integrity metadata before
// fetch() resolves, as Node's fetch does. The metadata is read as SRI reads it, leniently, which
// is why lib/integrity.ts (strict: a download's option throws on what it cannot use) is not used:
// tokens that do not parse are ignored, metadata without a valid token lets any body through,
// and a digest is compared as its base64 text, so one of the wrong length never matches.
// JS thread only.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { ErrorCodes } from './errors';
import type { StreamResult } from './task-types';

const TOKEN = /^(sha256|sha384|sha512)-([A-Za-z0-9+/]+={0,2})(?:\?.*)?$/;
const STRENGTH = ['sha256', 'sha384', 'sha512'];

/** The strongest algorithm of the metadata and its digests (base64, unpadded). */
export interface FetchIntegrity {
  algorithm: string;
  digests: string[];
}

/** The valid tokens of `metadata` of its strongest algorithm; undefined: none. */
export function fetchIntegrity(metadata: string): FetchIntegrity | undefined {
  let strongest: FetchIntegrity | undefined;
  for (const token of metadata.split(/\s+/)) {
    const match = TOKEN.exec(token);
    if (match === null) continue;
    const [, algorithm, digest] = match;
    if (strongest === undefined || STRENGTH.indexOf(algorithm) > STRENGTH.indexOf(strongest.algorithm)) {
      strongest = { algorithm, digests: [] };
    }
    if (algorithm === strongest.algorithm) strongest.digests.push(digest.replace(/=+$/, ''));
  }
  return strongest;
}

/**
 * `head` with its body read whole (at most `limit` bytes, the session's maximumResponseSize) and
 * checked: the same head with the checked bytes as its body. Rejects with an Error coded
 * ERR_URLSESSION_INTEGRITY_MISMATCH (or ERR_URLSESSION_OUT_OF_RANGE: too large), or as the body
 * failed (fetch() wraps each in its TypeError('fetch failed')).
 */
export async function verifiedHead(
  head: StreamResult,
  integrity: FetchIntegrity,
  limit: number,
): Promise<StreamResult> {
  const hash = createHash(integrity.algorithm);
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of head.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      head.body.destroy();
      throw failed(ErrorCodes.OUT_OF_RANGE, `a body checked for integrity is held in memory, at most ${limit} bytes`);
    }
    hash.update(chunk);
    parts.push(chunk);
  }
  const digest = hash.digest('base64');
  if (!integrity.digests.includes(digest.replace(/=+$/, ''))) {
    throw failed(ErrorCodes.INTEGRITY_MISMATCH, `integrity mismatch: the body's ${integrity.algorithm} is ${digest}`);
  }
  return { ...head, body: Readable.from([Buffer.concat(parts, size)]) };
}

function failed(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}
