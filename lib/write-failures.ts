// An episode of failing writes into a state folder (a full disk, a read-only remount): the first
// failure warns, the others do not, and a retry timer (250 ms, doubling to 4 s; unref'd, so it
// never keeps the process alive) keeps asking for another try until a write succeeds and ends
// the episode. JS thread only.

/** A write into the state folder failed: the session's 'warning' event carries this. */
export interface JournalWarning {
  message: string;
  path: string;
  /** The errno code, e.g. 'ENOSPC'. */
  code: string;
}

const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 4000;

export class WriteFailures {
  #failing = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #retryDelay = RETRY_MIN_MS;
  readonly #warn: (warning: JournalWarning) => void;
  readonly #retry: () => void;

  /** `retry` runs from the timer while the episode lasts. */
  constructor(warn: (warning: JournalWarning) => void, retry: () => void) {
    this.#warn = warn;
    this.#retry = retry;
  }

  get failing(): boolean {
    return this.#failing;
  }

  /** A write of `file` failed with `error`; `message` words the warning from the errno code. */
  failed(file: string, error: unknown, message: (code: string) => string): void {
    const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
    if (!this.#failing) {
      this.#failing = true;
      this.#warn({ message: message(code), path: file, code });
    }
    if (this.#retryTimer === undefined) {
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = undefined;
        if (this.#failing) this.#retry();
      }, this.#retryDelay);
      this.#retryTimer.unref();
      this.#retryDelay = Math.min(this.#retryDelay * 2, RETRY_MAX_MS);
    }
  }

  /** A write succeeded: the episode is over (the next failure warns again). */
  succeeded(): void {
    if (!this.#failing) return;
    this.#failing = false;
    this.#retryDelay = RETRY_MIN_MS;
    this.stop();
  }

  /** No more retries (the journal is closed). */
  stop(): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }
}
