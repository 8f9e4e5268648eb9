// The `data` Blob of Titanium's downloadcompleted: the finished file (lib/file-blob.ts, right at
// any size), typed with the Content-Type of the response it came from. Runs on the JS thread
// while a batch of engine events waits for its Blobs (Session's #receive).
import type { NativeEvent } from './native';
import { EventType } from './native-constants';
import { openFileBlob } from './file-blob';

/** The Content-Type of a Response event's headers (name, value, name, value…), or undefined. */
export function responseContentType(headers: readonly string[] | undefined): string | undefined {
  let type: string | undefined;
  for (let i = 0; headers !== undefined && i + 1 < headers.length; i += 2) {
    if (headers[i].toLowerCase() === 'content-type') type = headers[i + 1];
  }
  return type;
}

/**
 * A Blob for each DownloadCompleted event of `events`. The response may come in this batch,
 * ahead of the completion, or in an earlier one: `knownType` gives the latter's Content-Type.
 * A file that cannot be opened as a regular file gives an empty Blob.
 */
export async function downloadBlobs(
  events: readonly NativeEvent[],
  knownType: (taskIdentifier: number) => string | undefined,
): Promise<Map<NativeEvent, Blob>> {
  const blobs = new Map<NativeEvent, Blob>();
  const types = new Map<number, string | undefined>();
  for (const event of events) {
    if (event.type === EventType.Response) types.set(event.taskIdentifier, responseContentType(event.headers));
    if (event.type !== EventType.DownloadCompleted) continue;
    const type = types.has(event.taskIdentifier) ? types.get(event.taskIdentifier) : knownType(event.taskIdentifier);
    blobs.set(event, await openFileBlob(event.location as string, type ?? '').catch(() => new Blob([])));
  }
  return blobs;
}
