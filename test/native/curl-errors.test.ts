// Every libcurl result of the libcurl this addon links maps onto a real NSURLErrorDomain code with
// a description of its own: none is NSURLErrorUnknown (-1), none gets the generic text. The mapping
// (native/curl/curl_errors.cc) is compiled into a small program with the error texts
// (native/core/error_codes.cc) and run; no addon, no server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileNative, runNative, type NativeProgram } from '../helpers/compile-native';

interface Mapping {
  curlCode: number;
  code: number;
  description: string;
  curlName: string;
}

let program: NativeProgram | undefined;
let generic = '';
let last = 0;
const mappings: Mapping[] = [];

beforeAll(async () => {
  program = await compileNative(
    'curl_errors_check',
    ['test/native/curl_errors_check.cc', 'native/curl/curl_errors.cc', 'native/core/error_codes.cc'],
    { libraries: ['-lcurl'] },
  );
  const run = await runNative(program.binary);
  expect(run.code, run.stderr).toBe(0);
  for (const line of run.stdout.trimEnd().split('\n')) {
    const fields = line.split('\t');
    if (fields[0] === 'generic') generic = fields[1];
    else if (fields[0] === 'last') last = Number(fields[1]);
    else
      mappings.push({
        curlCode: Number(fields[0]),
        code: Number(fields[1]),
        description: fields[2],
        curlName: fields[3],
      });
  }
}, 120_000);
afterAll(() => program?.remove());

describe('libcurl results as NSURLErrorDomain codes', () => {
  it('covers every CURLcode from CURLE_OK to CURL_LAST - 1', () => {
    expect(generic.length).toBeGreaterThan(0);
    expect(last).toBeGreaterThan(90); // libcurl 7.88 has 99 codes before CURL_LAST
    expect(mappings.map((m) => m.curlCode)).toEqual(Array.from({ length: last }, (_, i) => i));
  });

  it('CURLE_OK is success (0); every other result is a real NSURLErrorDomain code, never -1', () => {
    expect(mappings[0].code).toBe(0);
    const unknown = mappings.filter((m) => m.curlCode !== 0 && !(m.code < -1));
    expect(unknown.map((m) => `${m.curlCode} (${m.curlName}) -> ${m.code}`)).toEqual([]);
  });

  it('every mapped code has its own description, not the generic "unknown" text', () => {
    const vague = mappings.filter((m) => m.curlCode !== 0 && (m.description.length === 0 || m.description === generic));
    expect(vague.map((m) => `${m.curlCode} (${m.curlName}) -> ${m.code}: "${m.description}"`)).toEqual([]);
  });

  it('the results a hostile server can cause map to what NSURLSession reports for them', () => {
    const codeOf = (curlCode: number): number => mappings[curlCode].code;
    expect(codeOf(27)).toBe(-1011); // CURLE_OUT_OF_MEMORY: libcurl's answer to an oversized header line
    expect(codeOf(8)).toBe(-1011); // CURLE_WEIRD_SERVER_REPLY
    expect(codeOf(56)).toBe(-1005); // CURLE_RECV_ERROR
    expect(codeOf(65)).toBe(-1021); // CURLE_SEND_FAIL_REWIND: the body cannot be sent again
    expect(codeOf(98)).toBe(-1206); // CURLE_SSL_CLIENTCERT: the server asks for a client certificate
  });
});
