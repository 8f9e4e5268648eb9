// fetch() for session.fetch and URLSession.fetch, its modules (lib/fetch*.ts) loaded at the first
// call: most importers of this library never fetch, and loading them at import cost every one of
// them start-up time. JS thread only.
import type { FetchInit } from './fetch';
import type { Session } from './session';

let loaded: typeof import('./fetch') | undefined;

export async function fetchLazily(
  session: Session,
  input: string | URL | Request,
  init: FetchInit | undefined,
): Promise<Response> {
  loaded ??= await import('./fetch');
  return loaded.fetchThrough(session, input, init);
}
