// Reading a web stream on until it fails: what a test of an aborted or cut body needs.

/** Reads `reader` to its end; resolves with the error a read rejected with, or undefined. */
export async function readUntilError(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<unknown> {
  for (;;) {
    try {
      if ((await reader.read()).done) return undefined;
    } catch (error) {
      return error;
    }
  }
}
