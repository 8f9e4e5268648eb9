// A body past 4 GiB that is never stored: zeros with 8-byte ASCII markers at known offsets (the
// start, across 2 GiB, across 4 GiB, past 4 GiB, the end). The test server generates it on the
// fly (sendLargeBody), a sparse file holds it on disk at almost no cost (writeSparseLargeBody),
// and a server reading an upload checks every byte it got (measureLargeBody) without keeping it.
import * as fs from 'node:fs';
import type * as http from 'node:http';

/** 4 GiB + 128 MiB + 5: past 2^32, not a multiple of anything the code might round to. */
export const LARGE_SIZE = 2 ** 32 + 2 ** 27 + 5;

export const MARKERS: ReadonlyArray<{ offset: number; text: string }> = [
  { offset: 0, text: 'START000' },
  { offset: 2 ** 31 - 4, text: 'TWO-GiB!' },
  { offset: 2 ** 32 - 4, text: 'FOURGiB!' },
  { offset: 2 ** 32 + 2 ** 20 + 3, text: 'PAST4GiB' },
  { offset: LARGE_SIZE - 8, text: 'THE-END.' },
];

const CHUNK = 1 << 20;
const ZEROS = Buffer.alloc(CHUNK);

/** Bytes [start, start + length) of the body. */
function piece(start: number, length: number): Buffer {
  const overlapping = MARKERS.filter((m) => m.offset < start + length && m.offset + 8 > start);
  if (overlapping.length === 0) return length <= CHUNK ? ZEROS.subarray(0, length) : Buffer.alloc(length);
  const out = Buffer.alloc(length);
  for (const m of overlapping) {
    const text = Buffer.from(m.text, 'latin1');
    for (let i = 0; i < 8; i++) {
      const at = m.offset + i - start;
      if (at >= 0 && at < length) out[at] = text[i];
    }
  }
  return out;
}

/** Writes the whole body to `res` (headers already sent), honouring backpressure; stops when the client goes. */
export function sendLargeBody(res: http.ServerResponse): void {
  let offset = 0;
  let gone = false;
  res.once('close', () => (gone = true));
  const pump = (): void => {
    while (!gone && offset < LARGE_SIZE) {
      const length = Math.min(CHUNK, LARGE_SIZE - offset);
      const ok = res.write(piece(offset, length));
      offset += length;
      if (!ok) return void res.once('drain', pump);
    }
    if (!gone) res.end();
  };
  pump();
}

/** The body as a sparse file at `file` (only the markers take disk space). */
export function writeSparseLargeBody(file: string): void {
  const fd = fs.openSync(
    file,
    fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW,
    0o600,
  );
  try {
    fs.ftruncateSync(fd, LARGE_SIZE);
    for (const m of MARKERS) fs.writeSync(fd, Buffer.from(m.text, 'latin1'), 0, 8, m.offset);
  } finally {
    fs.closeSync(fd);
  }
}

export interface MeasuredBody {
  length: number;
  /** The 8 bytes found at each marker's offset (latin1), '' when the body ended before it. */
  markers: string[];
  /** Whether every byte received was the body's byte at that offset. */
  intact: boolean;
}

/** Reads a request body to its end, keeping only its length, the bytes at the markers and whether every byte was right. */
export function measureLargeBody(req: http.IncomingMessage): Promise<MeasuredBody> {
  const found = MARKERS.map(() => Buffer.alloc(8));
  const seen = MARKERS.map(() => 0);
  let position = 0;
  let intact = true;
  return new Promise((resolve, reject) => {
    req.on('data', (chunk: Buffer) => {
      const start = position;
      const end = start + chunk.length;
      MARKERS.forEach((m, i) => {
        for (let at = Math.max(m.offset, start); at < Math.min(m.offset + 8, end); at++) {
          found[i][at - m.offset] = chunk[at - start];
          seen[i]++;
        }
      });
      if (intact && (end > LARGE_SIZE || !chunk.equals(piece(start, chunk.length)))) intact = false;
      position = end;
    });
    req.on('end', () =>
      resolve({ length: position, markers: found.map((b, i) => (seen[i] === 8 ? b.toString('latin1') : '')), intact }),
    );
    req.on('error', reject);
  });
}
