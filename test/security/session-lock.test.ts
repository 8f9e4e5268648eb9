// One owner per persistent session identifier. The state folder's lock is an OS lock (flock)
// that the owner holds for its session's life: real processes race for it, die holding it
// (SIGKILL), and leave their pid behind for an unrelated process to reuse.
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import * as URLSession from '../../lib/index';

const CHILD = path.join(__dirname, '..', 'helpers', 'lock-child.js');
const DIST = path.join(__dirname, '..', '..', 'dist', 'index.js');
const LOCKED = URLSession.ErrorCodes.SESSION_LOCKED;
const ROUNDS = 60;

interface Message {
  type: string;
  [key: string]: any;
}

/** A lock-child.js process and the messages it sent that no one has taken yet. */
class Contender {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  #inbox: Message[] = [];
  #wake: (() => void) | undefined;

  constructor() {
    this.child = fork(CHILD, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    this.child.on('message', (message: Message) => {
      this.#inbox.push(message);
      this.#wake?.();
    });
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    void this.exited.then(() => this.#wake?.());
  }

  get pid(): number {
    return this.child.pid as number;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  send(message: Message): void {
    this.child.send(message);
  }

  /** The next message of `type`; rejects when the child exits or stays silent past the deadline. */
  async next(type: string, deadlineMs = 15_000): Promise<Message> {
    const deadline = Date.now() + deadlineMs;
    for (;;) {
      const index = this.#inbox.findIndex((m) => m.type === type);
      if (index >= 0) return this.#inbox.splice(index, 1)[0];
      if (!this.alive) throw new Error(`child ${this.pid} exited before sending '${type}'`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`child ${this.pid} sent no '${type}' within ${deadlineMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  kill(): Promise<void> {
    if (this.alive) this.child.kill('SIGKILL');
    return this.exited;
  }
}

const roots: string[] = [];
const children: Array<{ kill(): unknown }> = [];

afterEach(async () => {
  for (const child of children.splice(0)) await child.kill();
  for (const root of roots.splice(0)) fs.rmSync(root, { recursive: true, force: true });
});

function folders(): { root: string; stateDirectory: string; downloadDirectory: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'urlsession-lock-'));
  roots.push(root);
  return { root, stateDirectory: path.join(root, 'state'), downloadDirectory: path.join(root, 'downloads') };
}

async function contender(): Promise<Contender> {
  const c = new Contender();
  children.push(c);
  await c.next('ready');
  return c;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** createSession's outcome: the session, or the thrown error's code. */
function tryCreate(options: object): URLSession.Session | string {
  try {
    return URLSession.createSession({ configuration: URLSession.createSessionConfiguration(options) });
  } catch (error) {
    return (error as { code: string }).code;
  }
}

async function invalidate(session: URLSession.Session): Promise<void> {
  const invalidated = new Promise((resolve) => session.once('invalidated', resolve));
  session.invalidateAndCancel();
  await invalidated;
}

describe('the session lock', () => {
  it('6 processes racing for one identifier: exactly one owner in each of 60 rounds, also over the stale lock of an owner killed with SIGKILL', async () => {
    const { root, stateDirectory, downloadDirectory } = folders();
    const identifier = 'lock.race';
    // One FIFO releases all contenders of a round: each waits in a blocking one-byte read, and
    // one write of six bytes wakes them together. This process holds it open for reading and
    // writing, so the children's opens never wait for a writer.
    const gate = path.join(root, 'gate');
    execFileSync('mkfifo', ['-m', '600', gate]);
    const gateFd = fs.openSync(gate, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
    try {
      const contenders = await Promise.all(Array.from({ length: 6 }, () => contender()));
      const ownersPerRound: number[] = [];
      const loserCodes = new Set<string>();
      let owners: Contender[] = [];
      // 60 rounds, not the 30 of the attack run: the race is real, so catching a broken lock is a
      // matter of chance. Measured with the pid-file lock of 6a842ca: 2 or more owners in 1 to 9
      // rounds of 30 in 10 of 11 runs; in 2 to 8 rounds of 60 in 4 of 5 runs.
      for (let round = 0; round < ROUNDS; round++) {
        if (round % 3 === 1) {
          // The owners die holding the lock: their lock file (with their pid) stays behind.
          const dead = owners.map((o) => o.pid);
          for (const owner of owners) {
            await owner.kill();
            contenders[contenders.indexOf(owner)] = await contender();
          }
          expect(dead.map(String)).toContain(fs.readFileSync(path.join(stateDirectory, 'lock'), 'utf8'));
        } else {
          for (const owner of owners) {
            owner.send({ type: 'release' });
            await owner.next('released');
          }
        }
        for (const c of contenders) c.send({ type: 'open', identifier, stateDirectory, downloadDirectory, gate });
        await Promise.all(contenders.map((c) => c.next('armed')));
        fs.writeSync(gateFd, Buffer.alloc(contenders.length));
        const results = await Promise.all(contenders.map((c) => c.next('result')));
        owners = contenders.filter((_, i) => results[i].owner === true);
        ownersPerRound.push(owners.length);
        for (const r of results) if (r.owner !== true) loserCodes.add(r.code);
      }
      expect(ownersPerRound, `owners per round: ${ownersPerRound.join(' ')}`).toEqual(Array(ROUNDS).fill(1));
      expect([...loserCodes]).toEqual([LOCKED]);
    } finally {
      fs.closeSync(gateFd);
    }
  });

  it('a lock file naming a live unrelated process (pid 1, the test runner) does not block the identifier', async () => {
    const { stateDirectory, downloadDirectory } = folders();
    fs.mkdirSync(stateDirectory, { recursive: true, mode: 0o700 });
    for (const pid of [1, process.ppid]) {
      expect(isAlive(pid)).toBe(true);
      fs.writeFileSync(path.join(stateDirectory, 'lock'), String(pid), { mode: 0o600 });
      const session = tryCreate({ identifier: `lock.live.${pid}`, stateDirectory, downloadDirectory });
      expect(session).toBeInstanceOf(URLSession.Session);
      // The pid in the file is information for the message of a process that is turned away.
      expect(fs.readFileSync(path.join(stateDirectory, 'lock'), 'utf8')).toBe(String(process.pid));
      await invalidate(session as URLSession.Session);
    }
  });

  it('an owner killed with kill -9 releases the identifier at once to the next process, even when an unrelated process got its pid', async (context) => {
    const { stateDirectory, downloadDirectory } = folders();
    const open = { type: 'open', identifier: 'lock.killed', stateDirectory, downloadDirectory };
    const first = await contender();
    first.send(open);
    expect(await first.next('result')).toEqual({ type: 'result', owner: true });
    const second = await contender();
    second.send(open);
    const turnedAway = await second.next('result');
    expect(turnedAway).toMatchObject({ owner: false, code: LOCKED });
    expect(turnedAway.message).toContain(`process ${first.pid} `);
    const deadPid = first.pid;
    await first.kill();
    // Linux: the next pid this namespace hands out is ns_last_pid + 1 (root only).
    let squatter: ChildProcess | undefined;
    try {
      fs.writeFileSync('/proc/sys/kernel/ns_last_pid', String(deadPid - 1));
    } catch {
      context.skip(); // not Linux or not root: the pid cannot be chosen
      return;
    }
    for (let attempt = 0; attempt < 50 && squatter === undefined; attempt++) {
      fs.writeFileSync('/proc/sys/kernel/ns_last_pid', String(deadPid - 1));
      const candidate = spawn('sleep', ['600'], { stdio: 'ignore' });
      const exited = new Promise((resolve) => candidate.once('exit', resolve));
      children.push({
        kill: () => {
          candidate.kill('SIGKILL');
          return exited;
        },
      });
      await new Promise((resolve) => candidate.once('spawn', resolve));
      // Another process of the machine took the pid first: try again.
      if (candidate.pid === deadPid) squatter = candidate;
      else {
        candidate.kill('SIGKILL');
        await exited;
      }
    }
    expect(squatter?.pid, "an unrelated process got the dead owner's pid").toBe(deadPid);
    expect(isAlive(deadPid)).toBe(true);
    expect(fs.readFileSync(path.join(stateDirectory, 'lock'), 'utf8')).toBe(String(deadPid));
    second.send(open);
    expect(await second.next('result')).toEqual({ type: 'result', owner: true });
  });

  it('in one process: the same identifier gives the live session back; another identifier on the same folder and a worker thread get ERR_URLSESSION_SESSION_LOCKED; the lock file outlives the session', async () => {
    const { stateDirectory, downloadDirectory } = folders();
    const options = { identifier: 'lock.inprocess', stateDirectory, downloadDirectory };
    const first = tryCreate(options) as URLSession.Session;
    expect(first).toBeInstanceOf(URLSession.Session);
    const opened: URLSession.Session[] = [first];
    try {
      // As in Titanium: a live identifier gives its session back (no second lock is taken).
      expect(tryCreate(options)).toBe(first);
      const before = fs.readdirSync(stateDirectory).sort();
      const other = tryCreate({ ...options, identifier: 'lock.inprocess.other' });
      if (other instanceof URLSession.Session) opened.push(other);
      expect(other).toBe(LOCKED);
      // Turned away before any engine touched the folder (the curl engine's cookie jar is there).
      expect(fs.readdirSync(stateDirectory).sort()).toEqual(before);
      // A worker thread has its own module instance (its own live-session table): only the OS lock stops it.
      const worker = new Worker(
        `const { parentPort, workerData } = require('node:worker_threads');
         const URLSession = require(workerData.dist);
         try {
           const s = URLSession.createSession({ configuration: URLSession.createSessionConfiguration(workerData.options) });
           s.invalidateAndCancel();
           s.once('invalidated', () => parentPort.postMessage({ owner: true }));
         } catch (error) {
           parentPort.postMessage({ owner: false, code: error.code });
         }`,
        { eval: true, workerData: { dist: DIST, options } },
      );
      try {
        const answer = await new Promise((resolve, reject) => {
          worker.once('message', resolve);
          worker.once('error', reject);
        });
        expect(answer).toEqual({ owner: false, code: LOCKED });
      } finally {
        await worker.terminate();
      }
    } finally {
      for (const session of opened) await invalidate(session);
    }
    // Released on invalidation, but never deleted (see lib/journal.ts for why).
    expect(fs.existsSync(path.join(stateDirectory, 'lock'))).toBe(true);
    const again = tryCreate(options);
    expect(again).toBeInstanceOf(URLSession.Session);
    expect(again).not.toBe(first);
    await invalidate(again as URLSession.Session);
  });

  it('a worker thread that ends without invalidating its session leaves the identifier free for the process that lives on', async () => {
    const { stateDirectory, downloadDirectory } = folders();
    const options = { identifier: 'lock.worker', stateDirectory, downloadDirectory };
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const URLSession = require(workerData.dist);
       globalThis.kept = URLSession.createSession({ configuration: URLSession.createSessionConfiguration(workerData.options) });
       // Alive until terminate(): an idle session holds no event loop, so the worker could
       // otherwise end by itself (releasing the lock) before the check below.
       setInterval(() => {}, 60_000);
       parentPort.postMessage('owner');`,
      { eval: true, workerData: { dist: DIST, options } },
    );
    const said = await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    expect(said).toBe('owner');
    expect(tryCreate(options)).toBe(LOCKED);
    await worker.terminate();
    const session = tryCreate(options);
    expect(session).toBeInstanceOf(URLSession.Session);
    await invalidate(session as URLSession.Session);
  });
});
