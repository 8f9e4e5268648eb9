// A throwing listener must not starve the others: every listener of an event gets it (session,
// module and Task listeners alike), each throw becomes one uncaughtException, and a persistent
// session journals a completion as delivered only after all its listeners ran.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useTaskServer } from '../helpers/task-server';

const server = useTaskServer();

function inChild(code: string): Promise<any[]> {
  const script = `const URLSession = require(${JSON.stringify(path.join(__dirname, '..', '..', 'dist', 'index.js'))});
const print = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
let uncaught = 0;
process.on('uncaughtException', () => uncaught++);
${code}`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', () => {
      clearTimeout(guard);
      resolve(
        out
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l)),
      );
    });
  });
}

describe('throwing listeners', () => {
  it('every session, module and Task listener gets the event; each throw is one uncaughtException', async () => {
    const lines = await inChild(`
      const s = URLSession.createSession({ configuration: URLSession.createSessionConfiguration() });
      const counts = { session: 0, module: 0, once: 0, task: 0, taskOnce: 0 };
      s.on('sessioncompleted', () => { throw new Error('first session listener'); });
      for (let i = 0; i < 250; i++) s.on('sessioncompleted', () => counts.session++);
      s.once('sessioncompleted', () => counts.once++);
      URLSession.on('sessioncompleted', () => { throw new Error('first module listener'); });
      URLSession.on('sessioncompleted', () => counts.module++);
      const task = s.request(${JSON.stringify(`${server.base}/file?size=100`)});
      task.on('response', () => { throw new Error('first task listener'); });
      task.on('response', () => counts.task++);
      task.once('response', () => counts.taskOnce++);
      s.dataTask({ url: ${JSON.stringify(`${server.base}/file?size=100`)} });
      let completed = 0;
      s.on('sessioncompleted', () => {
        if (++completed === 2) s.finishTasksAndInvalidate();
      });
      process.on('exit', () => print({ counts, uncaught }));`);
    // Two completions: 250 + 250 session listeners, the once listener once, 2 module listeners' runs.
    expect(lines).toEqual([
      { counts: { session: 500, module: 2, once: 1, task: 1, taskOnce: 1 }, uncaught: 2 + 2 + 1 },
    ]);
  });

  it('a persistent session marks a completion delivered only after every listener ran', async () => {
    const state = fs.mkdtempSync(path.join(os.tmpdir(), 'urlsession-listeners-'));
    try {
      const lines = await inChild(`
        const fs = require('fs');
        const s = URLSession.createSession({ configuration: URLSession.createSessionConfiguration({ identifier: 'listeners.${process.pid}', stateDirectory: ${JSON.stringify(state)}, downloadDirectory: ${JSON.stringify(state)} }) });
        const journal = () => require(${JSON.stringify(path.join(__dirname, '..', '..', 'dist', 'journal.js'))}).peekJournal(${JSON.stringify(state)});
        s.on('sessioncompleted', () => { throw new Error('first'); });
        s.on('sessioncompleted', (e) => {
          // Still undelivered on disk while listeners run: a crash here redelivers it.
          print({ undeliveredWhileListening: journal().undelivered.map((c) => c.taskIdentifier) });
          setImmediate(() => { print({ undeliveredAfter: journal().undelivered.length }); process.exit(0); });
        });
        s.dataTask({ url: ${JSON.stringify(`${server.base}/file?size=100`)} });`);
      expect(lines).toEqual([{ undeliveredWhileListening: [1] }, { undeliveredAfter: 0 }]);
    } finally {
      fs.rmSync(state, { recursive: true, force: true });
    }
  });
});
