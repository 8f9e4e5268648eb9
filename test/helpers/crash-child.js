// Child process of the crash-consistency test (crash-consistency.test.ts): one life of a
// persistent session that is SIGKILLed at a chosen moment. It re-attaches the session, starts
// new downloads, and prints one JSON line per fact (written synchronously, so every line printed
// before the kill reaches the parent). Where it kills itself:
//   'after-start'   right after downloadTask() returned, in the same tick;
//   'listener'      inside the n-th sessioncompleted listener, after the app saw the completion;
//   'journal-write' in the n-th write into the journal, after writing half of it (a torn record);
//   'commit'        a finished download's file is in place and its completion is about to be
//                   journaled: just before that write;
//   'none'          never (the parent kills it, or it runs until nothing is left and exits 0).
// The journal's writes are found by wrapping fs.openSync/fs.writeSync before the library loads;
// nothing of the library itself is replaced. argv: <json options> or @<file of them>:
//   { identifier, stateDirectory, downloadDirectory, urls: [{ name, url }], kill: { mode, n } }
'use strict';
const fs = require('node:fs');
const path = require('node:path');

// argv[2]: the options as JSON, or @<file> holding them (long URL lists).
const options = JSON.parse(
  process.argv[2].startsWith('@') ? fs.readFileSync(process.argv[2].slice(1), 'utf8') : process.argv[2],
);
const print = (event) => fs.writeSync(1, `${JSON.stringify(event)}\n`);
const die = (where) => {
  print({ type: 'killing', where });
  process.kill(process.pid, 'SIGKILL');
};
const { mode, n = 1 } = options.kill;

// The journal's descriptors, and the bytes written into them (RELIABILITY.md's figure).
const journalFds = new Set();
let journalWrites = 0;
let journalBytes = 0;
const openSync = fs.openSync;
fs.openSync = function (file, ...rest) {
  const fd = openSync.call(this, file, ...rest);
  if (
    typeof file === 'string' &&
    file.startsWith(options.stateDirectory) &&
    /^journal\.(log|json)/.test(path.basename(file))
  )
    journalFds.add(fd);
  return fd;
};
const closeSync = fs.closeSync;
fs.closeSync = function (fd) {
  journalFds.delete(fd);
  return closeSync.call(this, fd);
};
const writeSync = fs.writeSync;
fs.writeSync = function (fd, buffer, offset, length, ...rest) {
  if (journalFds.has(fd)) {
    journalWrites++;
    const bytes = Buffer.isBuffer(buffer)
      ? buffer.subarray(offset ?? 0, (offset ?? 0) + (length ?? buffer.length))
      : Buffer.from(String(buffer));
    if (mode === 'journal-write' && journalWrites === n) {
      writeSync.call(this, fd, bytes, 0, Math.max(1, bytes.length >> 1));
      die(`journal write ${n}`);
    }
    // Only a completion's record names a download's location.
    if (mode === 'commit' && bytes.includes('"location"')) die('between commit and journal');
    journalBytes += bytes.length;
  }
  return writeSync.call(this, fd, buffer, offset, length, ...rest);
};

const URLSession = require(path.join(__dirname, '..', '..', 'dist', 'index.js'));
const session = URLSession.createSession({
  configuration: URLSession.createSessionConfiguration({
    identifier: options.identifier,
    stateDirectory: options.stateDirectory,
    downloadDirectory: options.downloadDirectory,
  }),
});
let completions = 0;
session.on('downloadcompleted', (e) =>
  print({ type: 'downloadcompleted', id: e.taskIdentifier, location: e.location }),
);
session.on('sessioncompleted', (e) => {
  completions++;
  print({ type: 'completed', id: e.taskIdentifier, success: e.success, errorCode: e.errorCode, message: e.message });
  if (mode === 'listener' && completions === n) die(`listener ${n}`);
});
session.on('warning', (e) => print({ type: 'warning', message: e.message }));
session.on('sessioneventscompleted', () => {
  void session.getAllTasks().then((tasks) => {
    if (tasks.length > 0) return;
    print({ type: 'idle', journalWrites, journalBytes });
    if (mode === 'none' && options.exitWhenIdle) {
      session.finishTasksAndInvalidate();
      session.once('invalidated', () => process.exit(0));
    } else {
      // An idle session holds no event loop: without this the process could end by itself before
      // the test's SIGKILL for this moment reaches it.
      setInterval(() => undefined, 60_000);
    }
  });
});
print({ type: 'open' });
for (const { name, url } of options.urls) {
  const id = session.downloadTask({ url, taskDescription: name });
  print({ type: 'started', id, name });
}
if (mode === 'after-start') die('after start');
