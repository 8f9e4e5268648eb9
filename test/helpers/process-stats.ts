// What leak checks count, on Linux and macOS alike.
import * as fs from 'node:fs';

/** Open file descriptors of this process (/dev/fd exists on Linux and macOS). */
export function openFds(): number {
  return fs.readdirSync('/dev/fd').length;
}

/** Threads of this process, or undefined where the OS does not list them (macOS has no /proc). */
export function threadCount(): number | undefined {
  try {
    return fs.readdirSync('/proc/self/task').length;
  } catch {
    return undefined;
  }
}
