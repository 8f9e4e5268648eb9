// Blobs backed by a file on disk, right at any size, read lazily: the `data` of Titanium's
// downloadcompleted and the CLI's `-d @file` body.
//
// Node's own file-backed Blob (fs.openAsBlob) cannot be trusted with them: its length crosses
// into JS as an unsigned 32-bit number, so a file of 4 GiB or more gets its size modulo 2^32
// (nodejs/node#52585) and its bytes past that cannot be reached; Node's Blob handles slice with
// 32-bit offsets, and `new Blob()` refuses more than buffer.constants.MAX_LENGTH bytes. It also
// stats the path, following links, and each read reopens the path with a blocking
// open(O_RDONLY) on the JS thread: a link planted at the location is read through, a FIFO holds
// the process until a writer comes.
//
// So a FileBlob reads the file itself: each read opens O_RDONLY|O_NOFOLLOW|O_NONBLOCK and checks
// with fstat that it is still the file the Blob was made from (device, inode, size, mtime), else
// it fails with NotReadableError as Node's own file Blob does for a changed file. Every method of
// the Blob interface (size, type, slice, arrayBuffer, bytes, text, stream) works at any offset.
// Below 4 GiB the Blob is also built on openAsBlob's, so Node's internals that bypass the
// interface (new Blob([it]), FormData, structuredClone) see the bytes too (read Node's way); at
// 4 GiB and above Node cannot hold them, and only the interface is right (stream() passes the
// bytes on). Everything here runs on the JS thread; the reads run on libuv's thread pool.
import { constants as bufferConstants } from 'node:buffer';
import * as fs from 'node:fs';

const OPEN_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK;
/** Node's Blob handles carry sizes and offsets below this correctly. */
const NODE_BLOB_LIMIT = 2 ** 32;
/** Bytes per read of stream(). */
const STREAM_CHUNK = 256 * 1024;
/** The most one read() of arrayBuffer() asks for (read(2) returns less past 2 GiB anyway). */
const READ_LIMIT = 1 << 30;

/** Which file a FileBlob reads: what fstat said when the Blob was made. */
interface FileIdentity {
  path: string;
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
}

function notReadable(): DOMException {
  return new DOMException('The blob could not be read', 'NotReadableError');
}

/** The Blob rule for `type`: ASCII lower case, or '' when it holds anything outside U+0020–U+007E. */
function blobType(type: string): string {
  return /[^\u0020-\u007E]/.test(type) ? '' : type.toLowerCase();
}

/** A Blob relative offset (negative counts from the end), clamped to [0, size]. */
function relative(value: number | undefined, size: number, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Math.trunc(Number(value)) || 0;
  return n < 0 ? Math.max(size + n, 0) : Math.min(n, size);
}

/** Opens `path` without following a link or waiting on a FIFO; only a regular file is accepted. */
async function openRegular(path: string): Promise<{ handle: fs.promises.FileHandle; stat: fs.BigIntStats }> {
  const handle = await fs.promises.open(path, OPEN_FLAGS);
  try {
    const stat = await handle.stat({ bigint: true });
    if (!stat.isFile()) throw notReadable();
    return { handle, stat };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

export class FileBlob extends Blob {
  readonly #file: FileIdentity;
  readonly #start: number;
  readonly #end: number;
  readonly #type: string;
  /** Whether Blob's own handle holds the same bytes (openAsBlob's, below 4 GiB). */
  readonly #backed: boolean;

  /** Made by openFileBlob and slice(); `node` is Node's Blob of the same bytes, when one can hold them. */
  private constructor(file: FileIdentity, start: number, end: number, type: string, node: Blob | undefined) {
    super(node === undefined ? [] : [node]);
    this.#file = file;
    this.#start = start;
    this.#end = end;
    this.#type = type;
    this.#backed = node !== undefined;
  }

  // Blob's typings declare size and type as properties: the accessors that replace Blob's own go
  // on the prototype here.
  static {
    Object.defineProperties(FileBlob.prototype, {
      size: {
        get(this: FileBlob): number {
          return this.#end - this.#start;
        },
        enumerable: true,
        configurable: true,
      },
      type: {
        get(this: FileBlob): string {
          return this.#type;
        },
        enumerable: true,
        configurable: true,
      },
    });
  }

  /** The path of the file `blob` reads, when it is a FileBlob of the whole file (uploads stream it from disk). */
  static wholeFile(blob: unknown): string | undefined {
    if (!(blob instanceof FileBlob)) return undefined;
    return blob.#start === 0 && BigInt(blob.#end) === blob.#file.size ? blob.#file.path : undefined;
  }

  static async open(path: string, type: string): Promise<FileBlob> {
    const { handle, stat } = await openRegular(path);
    await handle.close();
    const file: FileIdentity = { path, dev: stat.dev, ino: stat.ino, size: stat.size, mtimeNs: stat.mtimeNs };
    let node: Blob | undefined;
    if (stat.size < NODE_BLOB_LIMIT) {
      node = await fs.openAsBlob(path);
      // openAsBlob stats the path itself: it must have found the file opened above.
      const again = await fs.promises.lstat(path, { bigint: true });
      if (BigInt(node.size) !== stat.size || again.dev !== stat.dev || again.ino !== stat.ino) throw notReadable();
    }
    return new FileBlob(file, 0, Number(stat.size), blobType(type), node);
  }

  override slice(start?: number, end?: number, contentType?: string): Blob {
    const size = this.#end - this.#start;
    const from = relative(start, size, 0);
    const to = Math.max(relative(end, size, size), from);
    const type = contentType === undefined ? '' : blobType(String(contentType));
    const node = this.#backed ? super.slice(from, to) : undefined;
    return new FileBlob(this.#file, this.#start + from, this.#start + to, type, node);
  }

  /** An fd on the Blob's file, checked to be the very file the Blob was made from. */
  async #open(): Promise<fs.promises.FileHandle> {
    let opened: { handle: fs.promises.FileHandle; stat: fs.BigIntStats };
    try {
      opened = await openRegular(this.#file.path);
    } catch {
      throw notReadable();
    }
    const { handle, stat } = opened;
    const f = this.#file;
    if (stat.dev !== f.dev || stat.ino !== f.ino || stat.size !== f.size || stat.mtimeNs !== f.mtimeNs) {
      await handle.close();
      throw notReadable();
    }
    return handle;
  }

  override async arrayBuffer(): Promise<ArrayBuffer> {
    const length = this.#end - this.#start;
    if (length > bufferConstants.MAX_LENGTH) {
      throw Object.assign(
        new RangeError(
          `Cannot create a Buffer larger than ${bufferConstants.MAX_LENGTH} bytes: read it with stream() or slice()`,
        ),
        { code: 'ERR_BUFFER_TOO_LARGE' },
      );
    }
    const buffer = new ArrayBuffer(length);
    const bytes = new Uint8Array(buffer);
    const handle = await this.#open();
    try {
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(bytes, done, Math.min(length - done, READ_LIMIT), this.#start + done);
        if (bytesRead === 0) throw notReadable();
        done += bytesRead;
      }
    } finally {
      await handle.close();
    }
    return buffer;
  }

  override async bytes() {
    return new Uint8Array(await this.arrayBuffer());
  }

  override async text(): Promise<string> {
    return new TextDecoder().decode(await this.arrayBuffer());
  }

  override stream(): ReturnType<Blob['stream']> {
    let position = this.#start;
    const end = this.#end;
    let handle: fs.promises.FileHandle | undefined;
    const close = async (): Promise<void> => {
      const h = handle;
      handle = undefined;
      await h?.close();
    };
    return new ReadableStream({
      type: 'bytes',
      pull: async (controller) => {
        try {
          handle ??= await this.#open();
          if (position >= end) {
            await close();
            controller.close();
            controller.byobRequest?.respond(0);
            return;
          }
          const chunk = new Uint8Array(Math.min(STREAM_CHUNK, end - position));
          const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
          if (bytesRead === 0) throw notReadable();
          position += bytesRead;
          controller.enqueue(chunk.subarray(0, bytesRead));
        } catch (error) {
          await close();
          throw error;
        }
      },
      cancel: close,
    }) as ReturnType<Blob['stream']>;
  }
}

/** `path` as a Blob of its bytes, typed `type`; rejects when it is not a regular file (a link, a FIFO). */
export function openFileBlob(path: string, type = ''): Promise<Blob> {
  return FileBlob.open(path, type);
}
