// Special files where a regular file belongs: a FIFO (or a device) given as an upload source
// fails at once with -3001 instead of stalling the engine thread, and the session's other
// transfers go on.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as URLSession from '../../lib/index';
import { useTaskServer } from '../helpers/task-server';

const server = useTaskServer();

describe('special files as upload sources', () => {
  it('a FIFO or /dev/zero fails with -3001 at once; a concurrent download still completes', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'urlsession-special-'));
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const session = URLSession.createSession({
      configuration: URLSession.createSessionConfiguration({ downloadDirectory: dir }),
    });
    try {
      for (const source of [fifo, '/dev/zero']) {
        const upload = session.upload(`${server.base}/echo`, source, { retry: 0 });
        const download = session.download(`${server.base}/file?size=200000&seed=2`);
        await expect(upload.done).rejects.toMatchObject({ errorCode: -3001 });
        expect((await download.done).statusCode).toBe(200);
      }
    } finally {
      session.invalidateAndCancel();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
