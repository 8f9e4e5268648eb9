// How a download is named, one rule for the Titanium API and the promise API: the server's
// Content-Disposition name (its last path segment, RFC 6266 §4.3), else the final URL after
// redirects; any bytes the server sends give a location that exists; long legal names work.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp';
import * as URLSession from '../../lib/index';
import { useTaskServer } from '../helpers/task-server';

const server = useTaskServer();

function folder(): string {
  return tempDir('urlsession-names-');
}

/** Titanium's downloadTask: resolves with the downloadcompleted location. */
function tiDownload(dir: string, url: string): Promise<string> {
  const s = URLSession.createSession({
    configuration: URLSession.createSessionConfiguration({ downloadDirectory: dir }),
  });
  return new Promise((resolve, reject) => {
    let location = '';
    s.on('downloadcompleted', (e) => (location = e.location));
    s.on('sessioncompleted', (e) => {
      s.finishTasksAndInvalidate();
      if (e.success) resolve(location);
      else reject(new Error(`${e.errorCode} ${e.message}`));
    });
    s.downloadTask({ url });
  });
}

const cdUrl = (cd: string): string => `${server.base}/file?size=10&cd=${encodeURIComponent(cd)}`;

describe('download names', () => {
  it("Titanium's downloadTask takes Content-Disposition and the final URL, as download() does", async () => {
    const dir = folder();
    expect(path.basename(await tiDownload(dir, cdUrl('attachment; filename="report.pdf"')))).toBe('report.pdf');
    const redirected = `${server.base}/redirect/1?to=${encodeURIComponent('/file/final-name.bin?size=10')}`;
    expect(path.basename(await tiDownload(dir, redirected))).toBe('final-name.bin');
    const s = URLSession.createSession({
      configuration: URLSession.createSessionConfiguration({ downloadDirectory: dir }),
    });
    try {
      expect(path.basename((await s.download(redirected).done).location)).toBe('final-name-1.bin');
    } finally {
      s.invalidateAndCancel();
    }
  });

  it('a Content-Disposition name with a path keeps its last segment', async () => {
    const dir = folder();
    for (const [cd, name] of [
      ['attachment; filename="../../x.sh"', 'x.sh'],
      ['attachment; filename="C:\\\\Windows\\\\evil.exe"', 'evil.exe'],
      ["attachment; filename*=UTF-8''..%2F..%2Fetc%2Fpasswd", 'passwd'],
    ]) {
      const location = await tiDownload(dir, cdUrl(cd));
      expect(path.basename(location)).toBe(name);
      expect(path.dirname(location)).toBe(dir);
    }
  });

  it('a name cut mid-UTF-8 or not UTF-8 at all still gives a location that exists', async () => {
    const dir = folder();
    for (const cd of ["attachment; filename*=UTF-8''caf%C3%A9%E2%9C", "attachment; filename*=UTF-8''%FF%FEbad.txt"]) {
      const location = await tiDownload(dir, cdUrl(cd));
      expect(fs.existsSync(location), location).toBe(true);
      expect(fs.readFileSync(location).length).toBe(10);
    }
    // From the URL too: percent-encoded bytes that are not UTF-8.
    const location = await tiDownload(dir, `${server.base}/file/%FF%FEname.bin?size=10`);
    expect(fs.existsSync(location), location).toBe(true);
  });

  it('a legal 240-byte destination name works (the hidden partial name is shortened, not the file)', async () => {
    const dir = folder();
    const name = `${'a'.repeat(236)}.bin`;
    const s = URLSession.createSession({ configuration: URLSession.createSessionConfiguration() });
    try {
      const result = await s.download(`${server.base}/file?size=100000`, { destination: path.join(dir, name) }).done;
      expect(result.location).toBe(path.join(dir, name));
      expect(fs.statSync(result.location).size).toBe(100_000);
      const multiByte = `${'é'.repeat(120)}.bin`; // 244 bytes
      const second = await s.download(`${server.base}/file?size=1000`, { destination: path.join(dir, multiByte) }).done;
      expect(second.location).toBe(path.join(dir, multiByte));
    } finally {
      s.invalidateAndCancel();
    }
  });
});
