// What a plain (non-persistent) session does when the process ends: Node emits 'exit' on
// process.exit(), on an uncaught exception and when the loop runs dry, but runs no addon
// cleanup hook on the first two (measured on Node 20), so a session's engine threads would go
// on writing until the process image is gone and leave their hidden partial files behind.
// Main thread only: a worker's env cleanup hook does run on process.exit() and terminate() (the
// bridge then stops the engine the same way), while a call into the addon from a terminating
// worker's 'exit' listener aborts the process.
// Persistent sessions are never registered here: a later process resumes their partial files.
// SIGINT/SIGTERM without a handler end the process without 'exit'; installing signal handlers
// is the application's decision, not a library's, so those partial files are left to the
// stale-file sweep (lib/partial-sweep.ts). JS thread only.

import { isMainThread } from 'node:worker_threads';

interface Registration {
  target: WeakRef<object>;
  stop: (target: object) => void;
}

const registered = new Set<Registration>();
let listening = false;
let pruneAt = 64;

/**
 * Calls `stop(target)` at process 'exit' while `target` is alive. `stop` must not capture
 * `target` (it would keep it alive): it receives it.
 */
export function stopAtExit<T extends object>(target: T, stop: (target: T) => void): void {
  if (!isMainThread) return;
  if (!listening) process.once('exit', stopAll);
  listening = true;
  registered.add({ target: new WeakRef(target), stop: (alive) => stop(alive as T) });
  // Sessions an app dropped leave empty references behind: swept when the set doubles.
  if (registered.size >= pruneAt) {
    for (const entry of registered) if (entry.target.deref() === undefined) registered.delete(entry);
    pruneAt = Math.max(64, registered.size * 2);
  }
}

function stopAll(): void {
  const entries = [...registered];
  registered.clear();
  for (const { target, stop } of entries) {
    const alive = target.deref();
    if (alive === undefined) continue;
    // One session's failure must not keep the others' partial files on disk.
    try {
      stop(alive);
    } catch {
      // Exiting: nobody is left to tell.
    }
  }
}
