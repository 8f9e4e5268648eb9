// The cookie jar against servers that flood it and local users who would read it: the store keeps
// at most 150 cookies per domain and 3000 in all, evicting the oldest first (also when an earlier
// session left more in the jar file), and the jar file is 0600 whatever the umask, the state
// directory's mode or an earlier reset. Real servers on 127.0.0.x (all of 127/8 is loopback on Linux).
import * as fs from 'node:fs';
import * as http from 'node:http';
import type * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as URLSession from '../../lib/index';

const PER_DOMAIN = 150;
const TOTAL = 3000;

interface CookieServer {
  base: string;
  close(): Promise<void>;
}

/** `/set?r=N&n=K` sets K cookies r<N>c<0..K-1> (in that order); `/echo` answers the Cookie header it got. */
async function cookieServer(host: string): Promise<CookieServer> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/set') {
      const r = Number(url.searchParams.get('r'));
      const n = Number(url.searchParams.get('n') ?? 50);
      res.setHeader(
        'Set-Cookie',
        Array.from({ length: n }, (_, j) => `${cookieName(r, j)}=v`),
      );
      return void res.end('set');
    }
    res.end(req.headers.cookie ?? '');
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    base: `http://${host}:${(server.address() as net.AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const cookieName = (r: number, j: number): string => `r${String(r).padStart(3, '0')}c${String(j).padStart(2, '0')}`;

/** The jar's cookie lines as [domain, name], in file order (libcurl writes the newest first). */
function jarCookies(stateDirectory: string): Array<[string, string]> {
  return fs
    .readFileSync(path.join(stateDirectory, 'cookies.txt'), 'utf8')
    .split('\n')
    .filter((line) => line !== '' && (!line.startsWith('#') || line.startsWith('#HttpOnly_')))
    .map((line) => {
      const fields = line.split('\t');
      return [fields[0].replace(/^#HttpOnly_/, ''), fields[5]];
    });
}

function countByDomain(cookies: Array<[string, string]>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const [domain] of cookies) counts.set(domain, (counts.get(domain) ?? 0) + 1);
  return counts;
}

async function invalidate(session: URLSession.Session): Promise<void> {
  const gone = new Promise((resolve) => session.once('invalidated', resolve));
  session.invalidateAndCancel();
  await gone;
}

let root: string;
const cleanups: Array<() => Promise<void> | void> = [];
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'urlsession-cookies-'));
});
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
  fs.rmSync(root, { recursive: true, force: true });
});

function newSession(stateDirectory: string): URLSession.Session {
  const session = URLSession.createSession({
    configuration: URLSession.createSessionConfiguration({ stateDirectory }),
  });
  cleanups.push(() => (session.state === 'invalidated' ? undefined : invalidate(session)));
  return session;
}

describe.skipIf(process.platform !== 'linux')('cookie jar limits', () => {
  it(`400 responses of 50 new cookies from one host: the newest ${PER_DOMAIN} kept, and the next request sends exactly those`, async () => {
    const server = await cookieServer('127.0.0.1');
    cleanups.push(() => server.close());
    const state = path.join(root, 'state');
    const session = newSession(state);
    for (let r = 0; r < 400; r++) await session.request(`${server.base}/set?r=${r}`).done;

    // The newest 150: responses 397-399 whole (the first response's cookies are long gone).
    const newest = [];
    for (let r = 397; r < 400; r++) for (let j = 0; j < 50; j++) newest.push(cookieName(r, j));
    const sent = (await session.request(`${server.base}/echo`).done).body
      .toString()
      .split('; ')
      .map((pair) => pair.split('=')[0]);
    expect(sent.sort()).toEqual([...newest].sort());

    await session.flush();
    const kept = jarCookies(state);
    expect(kept.length).toBe(PER_DOMAIN);
    expect(kept.map(([, name]) => name).sort()).toEqual([...newest].sort());
    expect(new Set(kept.map(([domain]) => domain))).toEqual(new Set(['127.0.0.1']));
  }, 120_000);

  it(`21 hosts of up to 200 cookies: ${TOTAL} kept in all, ${PER_DOMAIN} per host at most, the oldest evicted first`, async () => {
    const hosts = Array.from({ length: 21 }, (_, k) => `127.0.0.${k + 11}`);
    const servers: CookieServer[] = [];
    for (const host of hosts) servers.push(await cookieServer(host));
    cleanups.push(async () => void (await Promise.all(servers.map((s) => s.close()))));
    const state = path.join(root, 'state');
    const session = newSession(state);
    // Hosts 1-20 set 4 x 50 (each keeps its newest 150), the last one 2 x 50: 3100 after the
    // per-host limit, so the total limit evicts the 100 oldest of those, host 1's r1 and r2.
    for (const [k, server] of servers.entries()) {
      for (let r = 0; r < (k === 20 ? 2 : 4); r++) await session.request(`${server.base}/set?r=${r}`).done;
    }
    const names = (r0: number, r1: number): string[] => {
      const out = [];
      for (let r = r0; r <= r1; r++) for (let j = 0; j < 50; j++) out.push(cookieName(r, j));
      return out.sort();
    };
    const sentTo = async (server: CookieServer): Promise<string[]> =>
      (await session.request(`${server.base}/echo`).done).body
        .toString()
        .split('; ')
        .map((pair) => pair.split('=')[0])
        .sort();
    expect(await sentTo(servers[0])).toEqual(names(3, 3));
    expect(await sentTo(servers[1])).toEqual(names(1, 3));
    expect(await sentTo(servers[20])).toEqual(names(0, 1));

    await session.flush();
    const kept = jarCookies(state);
    expect(kept.length).toBe(TOTAL);
    const counts = countByDomain(kept);
    expect(hosts.map((host) => counts.get(host) ?? 0)).toEqual([50, ...Array(19).fill(PER_DOMAIN), 100]);
  }, 120_000);

  it('ages survive the jar: over two reloads by later sessions the oldest cookies are still evicted first', async () => {
    const server = await cookieServer('127.0.0.1');
    cleanups.push(() => server.close());
    const state = path.join(root, 'state');
    const run = async (responses: number[]): Promise<void> => {
      const session = newSession(state);
      for (const r of responses) await session.request(`${server.base}/set?r=${r}`).done;
      await invalidate(session); // saves the jar
    };
    await run([0, 1, 2]); // 150: the domain is full
    await run([3]); // a new session: r0, the oldest, makes room
    await run([4]); // and another: now r1
    const kept = jarCookies(state).map(([, name]) => name.slice(0, 4));
    expect([...new Set(kept)]).toEqual(['r004', 'r003', 'r002']); // newest first, 50 each
    expect(kept.length).toBe(PER_DOMAIN);
  }, 60_000);

  it('a jar an earlier session left over the limits is trimmed when loaded: the newest kept, in their order', async () => {
    // 21 domains set one after the other, 200 cookies each (the last one 100); the file lists the
    // newest first, as libcurl writes it. Ten expired cookies at the top must take no place.
    const state = path.join(root, 'state');
    fs.mkdirSync(state, { mode: 0o700 });
    const never = 4102444800; // 2100-01-01
    const all: string[] = [];
    for (let d = 1; d <= 21; d++) {
      for (let j = 0; j < (d === 21 ? 100 : 200); j++)
        all.push(`.host${d}.example\tTRUE\t/\tFALSE\t${never}\td${d}c${j}\tv`);
    }
    const expired = Array.from({ length: 10 }, (_, j) => `.host21.example\tTRUE\t/\tFALSE\t1000\told${j}\tv`);
    fs.writeFileSync(
      path.join(state, 'cookies.txt'),
      `# Netscape HTTP Cookie File\n\n${[...expired, ...all.reverse()].join('\n')}\n`,
      { mode: 0o600 },
    );

    const session = newSession(state);
    await session.flush();
    const kept = jarCookies(state);
    // Per domain the newest 150 (c50..c199); of those 3100 the newest 3000: all but c50..c149 of domain 1.
    const expected: string[] = [];
    for (let d = 21; d >= 1; d--)
      for (let j = d === 21 ? 99 : 199; j >= (d === 1 ? 150 : d === 21 ? 0 : 50); j--) expected.push(`d${d}c${j}`);
    expect(kept.length).toBe(TOTAL);
    expect(kept.map(([, name]) => name)).toEqual(expected);
  }, 60_000);
});

describe.skipIf(process.platform !== 'linux')('cookie jar file mode', () => {
  let umask: number;
  beforeEach(() => {
    umask = process.umask(0o022);
  });
  afterEach(() => {
    process.umask(umask);
  });

  const mode = (file: string): number => fs.statSync(file).mode & 0o7777;

  it('is 0600 in a state directory that already exists as 0755, after every save and after a reset', async () => {
    const server = await cookieServer('127.0.0.1');
    cleanups.push(() => server.close());
    const state = path.join(root, 'state');
    fs.mkdirSync(state, { mode: 0o755 });
    const jar = path.join(state, 'cookies.txt');
    const session = newSession(state);

    await session.request(`${server.base}/set?r=0&n=1`).done;
    await session.flush();
    expect(jarCookies(state).map(([, name]) => name)).toEqual(['r000c00']);
    expect(mode(jar)).toBe(0o600);

    // The second save replaces the file (libcurl writes a new one and renames it over the old).
    const first = fs.statSync(jar).ino;
    await session.request(`${server.base}/set?r=1&n=1`).done;
    await session.flush();
    expect(
      jarCookies(state)
        .map(([, name]) => name)
        .sort(),
    ).toEqual(['r000c00', 'r001c00']);
    expect(fs.statSync(jar).ino).not.toBe(first);
    expect(mode(jar)).toBe(0o600);

    // reset() removes the jar; the next save creates it again, private as well.
    await session.reset();
    expect(fs.existsSync(jar)).toBe(false);
    await session.request(`${server.base}/set?r=2&n=1`).done;
    await session.flush();
    expect(jarCookies(state).map(([, name]) => name)).toEqual(['r002c00']);
    expect(mode(jar)).toBe(0o600);

    await invalidate(session); // the last save, at invalidation
    expect(mode(jar)).toBe(0o600);
    expect(mode(state)).toBe(0o755); // the caller's folder keeps the mode the caller gave it
  });

  it('a state directory the engine creates is 0700 and its new jar 0600', async () => {
    const server = await cookieServer('127.0.0.1');
    cleanups.push(() => server.close());
    const state = path.join(root, 'a', 'state');
    const session = newSession(state);
    await session.request(`${server.base}/set?r=0&n=1`).done;
    await session.flush();
    expect(mode(path.join(root, 'a'))).toBe(0o700);
    expect(mode(state)).toBe(0o700);
    expect(mode(path.join(state, 'cookies.txt'))).toBe(0o600);
  });

  it('a symlink at the jar path is replaced by a private file; its target is never written or chmodded', async () => {
    const server = await cookieServer('127.0.0.1');
    cleanups.push(() => server.close());
    const state = path.join(root, 'state');
    fs.mkdirSync(state, { mode: 0o700 });
    const target = path.join(root, 'elsewhere.txt');
    fs.writeFileSync(target, 'not a jar\n', { mode: 0o644 });
    fs.symlinkSync(target, path.join(state, 'cookies.txt'));
    const session = newSession(state);
    await session.request(`${server.base}/set?r=0&n=1`).done;
    await session.flush();
    const jar = path.join(state, 'cookies.txt');
    expect(fs.lstatSync(jar).isFile()).toBe(true);
    expect(mode(jar)).toBe(0o600);
    expect(jarCookies(state).map(([, name]) => name)).toEqual(['r000c00']);
    expect(fs.readFileSync(target, 'utf8')).toBe('not a jar\n');
    expect(mode(target)).toBe(0o644);
  });
});
