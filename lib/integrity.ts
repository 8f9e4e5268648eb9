// Subresource Integrity metadata ("sha256-<base64> sha512-<base64> …"), checked synchronously.
// As SRI specifies, only the strongest algorithm present counts, and any of its digests matches.
import { ErrorCodes, typeError } from './errors';

const DIGEST_BYTES = { sha256: 32, sha384: 48, sha512: 64 } as const;
type Algorithm = keyof typeof DIGEST_BYTES;
const STRENGTH: Algorithm[] = ['sha256', 'sha384', 'sha512'];

export interface Integrity {
  algorithm: Algorithm;
  digests: Buffer[];
}

export function parseIntegrity(value: unknown): Integrity | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') {
    throw typeError(ErrorCodes.INVALID_ARGUMENT, 'integrity must be a string such as "sha256-<base64 digest>"');
  }
  const byAlgorithm = new Map<Algorithm, Buffer[]>();
  for (const token of value.trim().split(/\s+/)) {
    const match = /^(sha256|sha384|sha512)-([A-Za-z0-9+/]+={0,2})(\?.*)?$/.exec(token);
    if (match === null)
      throw typeError(ErrorCodes.INVALID_ARGUMENT, `integrity: "${token}" is not sha256-, sha384- or sha512-<base64>`);
    const algorithm = match[1] as Algorithm;
    const digest = Buffer.from(match[2], 'base64');
    if (digest.length !== DIGEST_BYTES[algorithm]) {
      throw typeError(
        ErrorCodes.INVALID_ARGUMENT,
        `integrity: the ${algorithm} digest must be ${DIGEST_BYTES[algorithm]} bytes`,
      );
    }
    byAlgorithm.set(algorithm, [...(byAlgorithm.get(algorithm) ?? []), digest]);
  }
  const strongest = [...STRENGTH].reverse().find((algorithm) => byAlgorithm.has(algorithm)) as Algorithm;
  return { algorithm: strongest, digests: byAlgorithm.get(strongest) as Buffer[] };
}
