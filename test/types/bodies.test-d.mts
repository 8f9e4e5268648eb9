// Type tests of request bodies (tsc -p test/types; nothing runs), as an ESM importer under node16
// sees the published types: Titanium's uploadTask / dataTask (session and module forms) take a
// stream of bytes as `data` where the runtime streams it (lib/body.ts). Each `@ts-expect-error`
// line must not compile: were a non-body accepted, tsc would report the directive unused.
import { Readable } from 'node:stream';
import * as URLSession from 'urlsession';
import type { Session, UploadData } from 'urlsession';

declare const session: Session;
declare const web: ReadableStream<Uint8Array>;
declare const iterable: AsyncIterable<Uint8Array>;
const readable = Readable.from([Buffer.from('body')]);
const url = 'https://example.com/upload';

session.uploadTask({ url, data: web });
session.uploadTask({ url, data: readable });
session.uploadTask({ url, data: iterable, method: 'PUT' });
session.dataTask({ url, data: web, method: 'POST' });
session.dataTask({ url, data: readable, method: 'POST' });
URLSession.uploadTask({ session, url, data: web });
URLSession.dataTask({ session, url, data: iterable, method: 'POST' });
URLSession.addBackgroundUploadTask({ session, url, data: readable });
const asUpload: UploadData = web;
void asUpload;

// @ts-expect-error a number is no body
session.uploadTask({ url, data: 42 });
// @ts-expect-error a stream of strings is not a stream of bytes
session.uploadTask({ url, data: null as unknown as ReadableStream<string> });
// @ts-expect-error a number is no body
session.dataTask({ url, data: 42 });
