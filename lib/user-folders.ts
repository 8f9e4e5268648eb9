// Where this user's private urlsession folders are: the cache root (state directories, the
// resume-data key) and the default download folder. One place for the naming rules.
import * as os from 'node:os';
import * as path from 'node:path';

/** $XDG_CACHE_HOME or ~/.cache on Linux, ~/Library/Caches on macOS, then "urlsession". */
export function userCacheRoot(): string {
  const base =
    process.platform === 'darwin'
      ? path.join(os.homedir(), 'Library', 'Caches')
      : process.env.XDG_CACHE_HOME && path.isAbsolute(process.env.XDG_CACHE_HOME)
        ? process.env.XDG_CACHE_HOME
        : path.join(os.homedir(), '.cache');
  return path.join(base, 'urlsession');
}

/**
 * `<tmpdir>/urlsession-<uid>`: per user, so that no other local user can have made it or plant
 * anything in it (the session checks it is ours and 0700 before using it).
 */
export function defaultDownloadDirectory(): string {
  const uid = typeof process.geteuid === 'function' ? process.geteuid() : os.userInfo().uid;
  return path.join(os.tmpdir(), `urlsession-${uid}`);
}
