// Type tests of the promise API's errors and response headers (tsc -p test/types; nothing
// runs), as an ESM importer sees the published types: what `done` rejects with and 'error'
// carries, TransferError's `cause`, Set-Cookie as an array, and no internals in the .d.ts.
// Each `@ts-expect-error` line must not compile (tsc reports the directive unused otherwise).
import { expectTypeOf } from 'vitest';
import { AbortError, ErrorCodes, HTTPError, IntegrityError, Session, Task, TransferError } from 'urlsession';
import type { RequestResult, ResponseHeaders, TaskError } from 'urlsession';

declare const task: Task<RequestResult>;
declare const result: RequestResult;
declare const error: TaskError;

// The three classes (an IntegrityError is a TransferError), each with its literal code.
if (error instanceof HTTPError) {
  expectTypeOf(error.code).toEqualTypeOf<typeof ErrorCodes.HTTP_ERROR>();
  expectTypeOf(error.statusCode).toEqualTypeOf<number>();
  expectTypeOf(error.headers).toEqualTypeOf<ResponseHeaders>();
  expectTypeOf(error.body).toEqualTypeOf<Buffer>();
} else if (error instanceof TransferError) {
  expectTypeOf(error.code).toEqualTypeOf<typeof ErrorCodes.TRANSFER_FAILED | typeof ErrorCodes.INTEGRITY_MISMATCH>();
  expectTypeOf(error.errorCode).toEqualTypeOf<number>();
  expectTypeOf(error.resumeData).toEqualTypeOf<Buffer | undefined>();
  expectTypeOf(error.cause).toEqualTypeOf<unknown>();
} else {
  expectTypeOf(error).toEqualTypeOf<AbortError>();
  expectTypeOf(error.code).toEqualTypeOf<'ABORT_ERR'>();
}
expectTypeOf<IntegrityError>().toMatchTypeOf<TransferError>();
expectTypeOf<IntegrityError['code']>().toEqualTypeOf<typeof ErrorCodes.INTEGRITY_MISMATCH>();
task.on('error', (e) => expectTypeOf(e).toEqualTypeOf<TaskError>());
// @ts-expect-error an 'error' listener gets the promise API's errors, not any value
task.on('error', (e: string) => void e);

// Response headers in Node's convention: Set-Cookie an array, known single headers strings.
expectTypeOf(result.headers['set-cookie']).toEqualTypeOf<string[] | undefined>();
expectTypeOf(result.headers['content-type']).toEqualTypeOf<string | undefined>();
// @ts-expect-error Set-Cookie is never one joined string
const _joined: string = result.headers['set-cookie'];

// Internals stay out of the published types (stripInternal), and so does construction.
expectTypeOf(task).not.toHaveProperty('_complete');
expectTypeOf(task).not.toHaveProperty('_progress');
expectTypeOf(Session).not.toHaveProperty('create');
expectTypeOf(Task).not.toHaveProperty('create');
// @ts-expect-error sessions come from createSession / createURLSession
new Session();
// @ts-expect-error tasks come from session.download / upload / request
new Task();
