// fetch()'s response body is fed by the engine with backpressure: a reader that stops makes
// the server stop (its written bytes stop growing far below the total) and loses nothing when
// it reads on; a 256 MiB body read at full speed keeps the process's RSS growth bounded.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { blockSha256, startFetchServer } from '../helpers/fetch-server';
import { sessionMaker } from '../helpers/sessions';
import { useStarted } from '../helpers/listen';
import { waitForStill } from '../helpers/wait-for';

const server = useStarted(startFetchServer);

const session = sessionMaker();

async function readAll(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  hash: ReturnType<typeof createHash>,
): Promise<number> {
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return size;
    size += value.byteLength;
    hash.update(value);
  }
}

describe('fetch() response bodies under backpressure', () => {
  it('a reader that stops reading stops the server well below the total; reading on gets every byte', async () => {
    const total = 128 << 20;
    const response = await session().fetch(`${server.base}/bytes?size=${total}&id=slow`);
    const reader = response.body!.getReader();
    const hash = createHash('sha256');
    const first = await reader.read();
    hash.update(first.value!);
    await waitForStill('the server to stop writing', () => server.written.get('slow') ?? 0);
    const stalled = server.written.get('slow') ?? 0;
    expect(stalled).toBeLessThan(total / 4);
    const size = first.value!.byteLength + (await readAll(reader, hash));
    expect(size).toBe(total);
    expect(hash.digest('hex')).toBe(blockSha256(total));
  });

  it('256 MiB read through response.body at full speed: the bytes intact, RSS growth bounded', async () => {
    const total = 256 << 20;
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 25);
    try {
      const response = await session().fetch(`${server.base}/bytes?size=${total}&id=large`);
      expect(response.headers.get('content-length')).toBe(String(total));
      const hash = createHash('sha256');
      expect(await readAll(response.body!.getReader(), hash)).toBe(total);
      expect(hash.digest('hex')).toBe(blockSha256(total));
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage().rss);
    expect(peak - before).toBeLessThan(150 << 20);
  });
});
