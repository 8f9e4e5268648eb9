// A persistent session's partial files, as the journal knows them: a new one is named in the
// journal before it exists and identified once it does (a kill between leaves a name the next
// process clears, never a file no journal knows); at re-attach only the very file the journal
// recorded is resumed, and anything else at its name is left alone for a new file. lstat and
// O_EXCL throughout: nothing planted in a shared download folder is followed. JS thread only.
import * as fs from 'node:fs';
import type { Journal, JournaledTask } from './journal';
import type { NativeTaskRequest } from './native';
import {
  createPartialFileAt,
  isOwnPartial,
  newPartialPath,
  ownPartialIdentity,
  removeOwnPartial,
} from './partial-files';

/**
 * Creates the partial file the journal already names (request.resumePartialPath) and journals
 * its identity. Throws when the folder cannot hold it.
 */
export function createJournaledPartial(journal: Journal, request: NativeTaskRequest): void {
  const id = request.taskIdentifier;
  for (let attempt = 0; ; attempt++) {
    try {
      const partial = createPartialFileAt(request.resumePartialPath as string);
      request.resumeIdentity = partial.identity;
      journal.patchTask(id, { partialIdentity: partial.identity });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 100) throw error;
      request.resumePartialPath = newPartialPath(request.downloadDirectory as string);
      journal.patchTask(id, { partialPath: request.resumePartialPath });
    }
  }
}

/** A re-attached download's file: the journaled one from its bytes on disk, or a new one from zero. */
export function resumeOrRenewPartial(journal: Journal, task: JournaledTask, request: NativeTaskRequest): void {
  if (task.partialPath !== undefined && isOwnPartial(task.partialPath, task.partialIdentity)) {
    const onDisk = fs.lstatSync(task.partialPath).size;
    request.resumePartialPath = task.partialPath;
    request.resumeIdentity = task.partialIdentity;
    // Without a validator the bytes on disk cannot be trusted to match: start over. A segmented
    // file has holes: only its plan says which bytes are there (the engine checks the plan against
    // the file, and starts over from zero when it does not fit). A download that asked for segments
    // but whose plan never reached the journal (killed right after the engine planned them) may
    // have holes nobody can place: it starts over too.
    const planned = task.segmentPlan !== undefined && task.segmentPlan !== '';
    const mayHaveHoles = (task.segments ?? 0) > 1 && !planned;
    request.resumeOffset = task.validator && !mayHaveHoles ? onDisk : 0;
    request.resumeValidator = task.validator ?? '';
    if (task.validator && planned) request.resumeSegments = task.segmentPlan;
    return;
  }
  if (task.downloadDirectory === undefined) return;
  // Named but never identified: the dead process created it empty and never started the task.
  if (
    task.partialPath !== undefined &&
    !task.partialIdentity &&
    ownPartialIdentity(task.partialPath) !== undefined &&
    fs.lstatSync(task.partialPath).size === 0
  ) {
    removeOwnPartial(task.partialPath, ownPartialIdentity(task.partialPath));
  }
  // A new partial file, named in the journal before it exists (as in prepare()).
  request.resumePartialPath = newPartialPath(task.downloadDirectory);
  request.resumeOffset = 0;
  journal.patchTask(task.taskIdentifier, {
    partialPath: request.resumePartialPath,
    partialIdentity: '',
    validator: '',
    segmentPlan: '',
  });
  try {
    createJournaledPartial(journal, request);
  } catch {
    // The folder is gone or refuses files: the engine tries itself and reports -3000.
    delete request.resumePartialPath;
    delete request.resumeOffset;
  }
}
