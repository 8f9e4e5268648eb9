// Type tests of the events (tsc -p test/types; nothing runs), as an ESM importer under node16
// sees the published types: every method that adds or removes a listener on a Session, on the
// module (Titanium's Ti.App.iOS events) and on a Task infers the payload from the event name.
// Each `@ts-expect-error` line must not compile: were a misspelled event or a wrong payload
// accepted again, tsc would report the directive unused and this check would fail.
import { expectTypeOf } from 'vitest';
import * as URLSession from 'urlsession';
import type {
  DownloadCompletedEvent,
  DownloadProgressEvent,
  DownloadResult,
  RequestResult,
  Session,
  SessionCompletedEvent,
  SessionEventsCompletedEvent,
  SessionInvalidatedEvent,
  SessionWarningEvent,
  StreamCompletion,
  Task,
  TaskError,
  TaskProgress,
  TaskResponse,
  TaskRetry,
  UploadProgressEvent,
} from 'urlsession';

declare const session: Session;
declare const download: Task<DownloadResult>;

// A session: the payload follows from the name, whichever method adds the listener.
session.on('downloadprogress', (e) => expectTypeOf(e).toEqualTypeOf<DownloadProgressEvent>());
session.once('downloadcompleted', (e) => expectTypeOf(e).toEqualTypeOf<DownloadCompletedEvent>());
session.addListener('uploadprogress', (e) => expectTypeOf(e).toEqualTypeOf<UploadProgressEvent>());
session.prependListener('sessioncompleted', (e) => expectTypeOf(e).toEqualTypeOf<SessionCompletedEvent>());
session.prependOnceListener('sessioneventscompleted', (e) =>
  expectTypeOf(e).toEqualTypeOf<SessionEventsCompletedEvent>(),
);
session.off('invalidated', (e: SessionInvalidatedEvent) => void e);
session.removeListener('warning', (e: SessionWarningEvent) => void e);
expectTypeOf(session.on('downloadprogress', () => undefined)).toEqualTypeOf<Session>();

// @ts-expect-error a misspelled event name: no session emits 'downloadprogres'
session.on('downloadprogres', (e) => void e);
// @ts-expect-error a misspelled event name, through once
session.once('sessioncomplete', () => undefined);
// @ts-expect-error a misspelled event name, through addListener
session.addListener('downloadprogres', () => undefined);
// @ts-expect-error a misspelled event name, through prependListener
session.prependListener('uploadprogres', () => undefined);
// @ts-expect-error a wrong payload: downloadprogress does not carry an upload's fields
session.on('downloadprogress', (e: UploadProgressEvent) => void e);
// @ts-expect-error a wrong payload, through once
session.once('sessioncompleted', (e: DownloadCompletedEvent) => void e);
// @ts-expect-error a wrong payload, through prependListener
session.prependListener('downloadcompleted', (e: SessionCompletedEvent) => void e);
// @ts-expect-error emit is typed too: a downloadprogress event needs its fields
session.emit('downloadprogress', { taskIdentifier: 1 });

// The module: every session's events.
URLSession.on('downloadprogress', (e) => expectTypeOf(e).toEqualTypeOf<DownloadProgressEvent>());
URLSession.once('sessioncompleted', (e) => expectTypeOf(e).toEqualTypeOf<SessionCompletedEvent>());
URLSession.addEventListener('uploadprogress', (e) => expectTypeOf(e).toEqualTypeOf<UploadProgressEvent>());
URLSession.off('downloadcompleted', (e: DownloadCompletedEvent) => void e);
URLSession.removeEventListener('warning', (e: SessionWarningEvent) => void e);

// @ts-expect-error a misspelled event name on the module
URLSession.on('downloadprogres', () => undefined);
// @ts-expect-error a misspelled event name, through Titanium's addEventListener
URLSession.addEventListener('sessioncomplete', () => undefined);
// @ts-expect-error a wrong payload on the module
URLSession.on('uploadprogress', (e: DownloadProgressEvent) => void e);

// A Task: its own events, with its result type in 'complete'.
download.on('progress', (p) => expectTypeOf(p).toEqualTypeOf<TaskProgress>());
download.once('response', (r) => expectTypeOf(r).toEqualTypeOf<TaskResponse>());
download.addListener('retry', (r) => expectTypeOf(r).toEqualTypeOf<TaskRetry>());
download.prependListener('complete', (r) => expectTypeOf(r).toEqualTypeOf<DownloadResult>());
download.prependOnceListener('error', (e) => expectTypeOf(e).toEqualTypeOf<TaskError>());
session
  .request('http://127.0.0.1/', { stream: true })
  .on('complete', (r) => expectTypeOf(r).toEqualTypeOf<StreamCompletion>());
session.upload('http://127.0.0.1/', 'body.bin').on('complete', (r) => expectTypeOf(r).toEqualTypeOf<RequestResult>());
expectTypeOf(session.download('http://127.0.0.1/')).toEqualTypeOf<Task<DownloadResult>>();

// @ts-expect-error a misspelled Task event
download.on('progres', () => undefined);
// @ts-expect-error a misspelled Task event, through once
download.once('completed', () => undefined);
// @ts-expect-error a wrong Task payload: 'progress' carries progress, not the result
download.on('progress', (r: DownloadResult) => void r);
// @ts-expect-error a download's 'complete' has no body
download.on('complete', (r: RequestResult) => void r);
