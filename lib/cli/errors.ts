// The CLI's own errors, which decide its exit code and whether the usage text follows. Kept
// apart from the commands so that `urlsession --help` loads neither them nor the addon.
import type { CommandName } from './usage';

/** A usage error: exit code 2 with the usage text (of `command` when it names one). */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: CommandName,
  ) {
    super(message);
  }
}

/** A run that cannot start as asked (a CA file that cannot be used): exit code 2, no usage text. */
export class SetupError extends Error {}
