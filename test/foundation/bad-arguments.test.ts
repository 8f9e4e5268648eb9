// Bad arguments that used to slip through: each is a synchronous TypeError with a stable code,
// never a silent false, a plain TypeError without a code, or a 64 KiB request line.
import { describe, expect, it } from 'vitest';
import * as URLSession from '../../lib/index';

const coded = (code: string) => expect.objectContaining({ name: 'TypeError', code });

describe('bad arguments', () => {
  it('cancelTask without a number throws ERR_URLSESSION_INVALID_ARGUMENT', () => {
    const s = URLSession.createSession({ configuration: URLSession.createSessionConfiguration() });
    try {
      for (const value of [undefined, null, '1', {}]) {
        expect(() => s.cancelTask(value as never)).toThrow(coded('ERR_URLSESSION_INVALID_ARGUMENT'));
      }
      expect(s.cancelTask(12345)).toBe(false); // a well-formed unknown identifier is not an error
    } finally {
      s.invalidateAndCancel();
    }
  });

  it('methods are tokens of a sane length (64 characters at most)', () => {
    const s = URLSession.createSession({ configuration: URLSession.createSessionConfiguration() });
    try {
      const url = 'http://127.0.0.1:9/x';
      expect(() => s.uploadTask({ url, data: Buffer.from('x'), method: 'M'.repeat(65536) })).toThrow(
        coded('ERR_URLSESSION_INVALID_ARGUMENT'),
      );
      expect(() => s.request(url, { method: 'M'.repeat(65) })).toThrow(coded('ERR_URLSESSION_INVALID_ARGUMENT'));
      expect(() => s.dataTask({ url, method: 'BASELINE-CONTROL' })).not.toThrow();
    } finally {
      s.invalidateAndCancel();
    }
  });

  it('dataTask data that cannot become JSON (a cycle, a BigInt) throws ERR_URLSESSION_INVALID_ARGUMENT', () => {
    const s = URLSession.createSession({ configuration: URLSession.createSessionConfiguration() });
    try {
      const cycle: Record<string, unknown> = {};
      cycle.self = cycle;
      for (const data of [cycle, { n: 1n }, [1n]]) {
        expect(() => s.dataTask({ url: 'http://127.0.0.1:9/x', data })).toThrow(
          coded('ERR_URLSESSION_INVALID_ARGUMENT'),
        );
        expect(() => s.request('http://127.0.0.1:9/x', { body: data })).toThrow(
          coded('ERR_URLSESSION_INVALID_ARGUMENT'),
        );
      }
    } finally {
      s.invalidateAndCancel();
    }
  });

  it('proxy.url is checked as every URL is: a string, absolute, http or https, with the same codes', () => {
    const codeOf = (proxy: unknown): string | undefined => {
      try {
        URLSession.createSessionConfiguration({ persistent: false, proxy: proxy as never });
      } catch (error) {
        return (error as { code?: string }).code;
      }
      return undefined;
    };
    expect(codeOf({ url: 42 })).toBe('ERR_URLSESSION_INVALID_URL');
    expect(codeOf({ url: '' })).toBe('ERR_URLSESSION_INVALID_URL');
    expect(codeOf({ url: 'not a url' })).toBe('ERR_URLSESSION_INVALID_URL');
    expect(codeOf({ url: 'ftp://proxy:21' })).toBe('ERR_URLSESSION_UNSUPPORTED_SCHEME');
    expect(
      URLSession.createSessionConfiguration({ persistent: false, proxy: { url: 'http://proxy:3128' } }).proxy,
    ).toEqual({ url: 'http://proxy:3128/', noProxy: [] });
  });
});
