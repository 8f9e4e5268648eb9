// The seed's API in every form it documents (../shared/seed/ti.urlsession-README.md) and the
// module-level forms of ti.urlsession's ComAppceleratorUrlSessionModule.m (the session as first
// argument; the deprecated names of 2.0), against a real HTTP/1.1 server on 127.0.0.1.
import * as fs from 'node:fs';
import * as vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp';
import { liveSessions } from '../helpers/sessions';
import * as URLSession from '../../lib/index';
import { makeBytes, sha256, useTaskServer } from '../helpers/task-server';

const server = useTaskServer();
const live = liveSessions();
let counter = 0;

const identifier = (): string => `seed.forms.${process.pid}.${++counter}`;
const codeOf = (call: () => unknown): string | undefined => {
  try {
    call();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
};

function completion(session: URLSession.Session, taskIdentifier: number): Promise<URLSession.SessionCompletedEvent> {
  return new Promise((resolve) => {
    const listener = (e: URLSession.SessionCompletedEvent): void => {
      if (e.taskIdentifier !== taskIdentifier) return;
      session.off('sessioncompleted', listener);
      resolve(e);
    };
    session.on('sessioncompleted', listener);
  });
}

describe("the seed's documented forms", () => {
  it('createSessionConfiguration("identifier"): "takes one argument, a string"', () => {
    const id = identifier();
    const configuration = URLSession.createSessionConfiguration(id);
    expect(configuration.identifier).toBe(id);
    expect(configuration.persistent).toBe(true);
    expect(codeOf(() => URLSession.createSessionConfiguration(42 as never))).toBe('ERR_URLSESSION_INVALID_ARGUMENT');
  });

  it('createSession(configuration) and createSession({ configuration }) both give the session', async () => {
    const configuration = URLSession.createSessionConfiguration({ identifier: identifier(), persistent: false });
    const session = URLSession.createSession(configuration);
    live.push(session);
    expect(URLSession.createSession({ configuration })).toBe(session);
    expect(URLSession.createURLSession(configuration)).toBe(session);
    const id = session.dataTask({ url: `${server.base}/file?size=10` });
    expect(await completion(session, id)).toMatchObject({ success: true, statusCode: 200 });
    expect(codeOf(() => URLSession.createSession({} as never))).toBe('ERR_URLSESSION_INVALID_ARGUMENT');
  });

  it('HTTPHeaderFields is writable until a session is created, then ERR_URLSESSION_READ_ONLY', async () => {
    const configuration = URLSession.createSessionConfiguration({ identifier: identifier(), persistent: false });
    configuration.HTTPHeaderFields = { 'X-Before': 'yes' };
    const session = URLSession.createURLSession(configuration);
    live.push(session);
    const thrown = (() => {
      try {
        configuration.HTTPHeaderFields = { 'X-After': 'ignored' };
      } catch (error) {
        return error as TypeError & { code: string };
      }
      return undefined;
    })();
    expect(thrown).toBeInstanceOf(TypeError);
    expect(thrown?.code).toBe('ERR_URLSESSION_READ_ONLY');
    expect(configuration.HTTPHeaderFields).toEqual({ 'X-Before': 'yes' });
    const id = session.dataTask({ url: `${server.base}/headers` });
    const headers = JSON.parse((await completion(session, id)).responseText as string);
    expect(headers['x-before']).toBe('yes');
    expect(headers['x-after']).toBeUndefined();
  });

  it('finishTasksAndInvalidate(session) on the session itself; another session is refused', async () => {
    const a = URLSession.createSession(
      URLSession.createSessionConfiguration({ identifier: identifier(), persistent: false }),
    );
    const b = URLSession.createSession(
      URLSession.createSessionConfiguration({ identifier: identifier(), persistent: false }),
    );
    live.push(a, b);
    expect(codeOf(() => a.finishTasksAndInvalidate(b))).toBe('ERR_URLSESSION_INVALID_ARGUMENT');
    expect(codeOf(() => a.invalidateAndCancel(b))).toBe('ERR_URLSESSION_INVALID_ARGUMENT');
    expect(a.state).toBe('active');
    const invalidated = new Promise((resolve) => a.once('invalidated', resolve));
    a.finishTasksAndInvalidate(a);
    await invalidated;
    b.invalidateAndCancel(b);
    expect(b.state).not.toBe('active');
  });
});

describe('an app in another realm', () => {
  it('options, headers and bodies built in a vm context (a Titanium shim, Jest) are accepted; its class instances are not plain objects', async () => {
    const context = vm.createContext({});
    const made = vm.runInContext(
      `({
      options: { identifier: ${JSON.stringify(identifier())}, persistent: false, HTTPHeaderFields: { 'X-Realm': 'other' } },
      json: { realm: 'other', list: [1, 2] },
      bytes: new Uint8Array([104, 105]),
      instance: new (class Options { constructor() { this.identifier = 'x'; } })(),
    })`,
      context,
    );
    const session = URLSession.createSession({ configuration: URLSession.createSessionConfiguration(made.options) });
    live.push(session);
    const json = session.dataTask(vm.runInContext('(u) => ({ url: u })', context)(`${server.base}/echo`) as never);
    const echoed = JSON.parse((await completion(session, json)).responseText as string);
    expect(echoed.headers['x-realm']).toBe('other');
    const posted = session.dataTask({ url: `${server.base}/echo`, data: made.json });
    expect(JSON.parse(JSON.parse((await completion(session, posted)).responseText as string).text)).toEqual({
      realm: 'other',
      list: [1, 2],
    });
    const upload = session.uploadTask({ url: `${server.base}/echo`, data: made.bytes });
    expect(JSON.parse((await completion(session, upload)).responseText as string)).toMatchObject({
      length: 2,
      text: 'hi',
    });
    expect(codeOf(() => URLSession.createSessionConfiguration(made.instance))).toBe('ERR_URLSESSION_INVALID_ARGUMENT');
  });
});

describe("ti.urlsession's module-level forms", () => {
  it('URLSession.finishTasksAndInvalidate(session) lets a running download finish; invalidateAndCancel(session) cancels', async () => {
    const dir = tempDir('urlsession-seed-forms-');
    const a = URLSession.createSession(
      URLSession.createSessionConfiguration({ identifier: identifier(), persistent: false, downloadDirectory: dir }),
    );
    live.push(a);
    const id = a.downloadTask({ url: `${server.base}/file/finish.bin?size=400000&seed=3&delay=2&chunk=65536` });
    const done = completion(a, id);
    URLSession.finishTasksAndInvalidate(a);
    expect(await done).toMatchObject({ success: true });
    expect(sha256(fs.readFileSync(`${dir}/finish.bin`))).toBe(sha256(makeBytes(400000, 3)));

    const b = URLSession.createSession(
      URLSession.createSessionConfiguration({ identifier: identifier(), persistent: false, downloadDirectory: dir }),
    );
    live.push(b);
    const slow = b.downloadTask({ url: `${server.base}/file?size=5000000&delay=20&chunk=16384` });
    const cancelled = completion(b, slow);
    URLSession.invalidateAndCancel(b);
    expect(await cancelled).toMatchObject({ success: false, errorCode: -999 });
    expect(codeOf(() => URLSession.finishTasksAndInvalidate({} as never))).toBe('ERR_URLSESSION_INVALID_ARGUMENT');
  });

  it("URLSession.downloadTask / uploadTask / dataTask({ session, ... }), as the seed's example app calls them", async () => {
    const dir = tempDir('urlsession-seed-forms-');
    const session = URLSession.createSession(
      URLSession.createSessionConfiguration({ identifier: identifier(), persistent: false, downloadDirectory: dir }),
    );
    live.push(session);
    const locations = new Map<number, string>();
    session.on('downloadcompleted', (e) => locations.set(e.taskIdentifier, e.location));
    const download = URLSession.downloadTask({ session, url: `${server.base}/file/module.bin?size=4000&seed=8` });
    expect(await completion(session, download)).toMatchObject({ success: true });
    expect(sha256(fs.readFileSync(locations.get(download) as string))).toBe(sha256(makeBytes(4000, 8)));
    const body = makeBytes(3000, 9);
    const upload = URLSession.uploadTask({ session, url: `${server.base}/echo`, data: body, method: 'PUT' });
    expect(JSON.parse((await completion(session, upload)).responseText as string)).toMatchObject({
      method: 'PUT',
      sha256: sha256(body),
    });
    const data = URLSession.dataTask({ session, url: `${server.base}/echo`, data: { a: 1 } });
    expect(JSON.parse((await completion(session, data)).responseText as string)).toMatchObject({
      method: 'POST',
      text: '{"a":1}',
    });
    expect(codeOf(() => URLSession.downloadTask({ url: 'http://127.0.0.1/' } as never))).toBe(
      'ERR_URLSESSION_INVALID_ARGUMENT',
    );
    expect(codeOf(() => URLSession.downloadTask({ session, url: 'http://127.0.0.1/', bogus: 1 } as never))).toBe(
      'ERR_URLSESSION_UNKNOWN_OPTION',
    );
  });

  it('URLSession.reset(session, callback) and flush(session, callback) call back with { completed: true }', async () => {
    const session = URLSession.createSession(
      URLSession.createSessionConfiguration({ identifier: identifier(), persistent: false }),
    );
    live.push(session);
    expect(await new Promise((resolve) => URLSession.flush(session, resolve))).toMatchObject({ completed: true });
    expect(await new Promise((resolve) => URLSession.reset(session, resolve))).toMatchObject({ completed: true });
    expect(await URLSession.flush(session)).toMatchObject({ completed: true });
    expect(codeOf(() => URLSession.reset(undefined as never, () => undefined))).toBe('ERR_URLSESSION_INVALID_ARGUMENT');
  });

  it('the deprecated names: createURLSessionBackgroundConfiguration(identifier), backgroundDownloadTaskWithURL(session, url), addBackgroundDownloadTask / addBackgroundUploadTask({ session, url, data })', async () => {
    const dir = tempDir('urlsession-seed-forms-');
    const id = identifier();
    const configuration = URLSession.createURLSessionBackgroundConfiguration(id);
    expect(configuration.identifier).toBe(id);
    expect(URLSession.createURLSessionBackgroundConfiguration({ identifier: `${id}.b` }).identifier).toBe(`${id}.b`);
    const session = URLSession.createSession(
      URLSession.createSessionConfiguration({ identifier: identifier(), persistent: false, downloadDirectory: dir }),
    );
    live.push(session);
    const locations = new Map<number, string>();
    session.on('downloadcompleted', (e) => locations.set(e.taskIdentifier, e.location));
    const first = URLSession.backgroundDownloadTaskWithURL(session, `${server.base}/file/old.bin?size=3000&seed=4`);
    expect(await completion(session, first)).toMatchObject({ success: true });
    expect(sha256(fs.readFileSync(locations.get(first) as string))).toBe(sha256(makeBytes(3000, 4)));
    const second = URLSession.addBackgroundDownloadTask({
      session,
      url: `${server.base}/file/added.bin?size=2000&seed=5`,
    });
    expect(await completion(session, second)).toMatchObject({ success: true });
    expect(sha256(fs.readFileSync(locations.get(second) as string))).toBe(sha256(makeBytes(2000, 5)));
    const body = makeBytes(5000, 6);
    const upload = URLSession.addBackgroundUploadTask({ session, url: `${server.base}/echo`, data: body });
    const uploaded = await completion(session, upload);
    expect(uploaded).toMatchObject({ success: true, statusCode: 200 });
    expect(JSON.parse(uploaded.responseText as string)).toMatchObject({
      method: 'POST',
      length: 5000,
      sha256: sha256(body),
    });
    expect(codeOf(() => URLSession.backgroundDownloadTaskWithURL('nope' as never, 'http://127.0.0.1/'))).toBe(
      'ERR_URLSESSION_INVALID_ARGUMENT',
    );
  });
});
