// Child process for the persistent-session tests. Creates (or re-attaches) a persistent session
// and prints one JSON line per event, so the parent can kill it at any point and inspect.
// argv: <json options> ; options: { identifier, stateDirectory, downloadDirectory (omitted: the
//   default folder), urls[], descriptions[], killOnComplete (SIGKILL itself inside the first
//   sessioncompleted listener), umask (set before anything else), persistent }
'use strict';
const path = require('node:path');
const URLSession = require(path.join(__dirname, '..', '..', 'dist', 'index.js'));

const options = JSON.parse(process.argv[2]);
const print = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
if (options.umask !== undefined) process.umask(options.umask);
const fs = require('node:fs');
const modeOf = (file) => {
  try {
    return fs.lstatSync(file).mode & 0o7777;
  } catch {
    return -1;
  }
};

let session;
try {
  session = URLSession.createSession({
    configuration: URLSession.createSessionConfiguration({
      identifier: options.identifier,
      stateDirectory: options.stateDirectory,
      ...(options.downloadDirectory === undefined ? {} : { downloadDirectory: options.downloadDirectory }),
      ...(options.persistent === undefined ? {} : { persistent: options.persistent }),
      progressInterval: 20,
    }),
  });
} catch (error) {
  print({ type: 'error', code: error.code, message: error.message });
  process.exit(3);
}
print({ type: 'created', backgroundMode: session.backgroundMode });
session.on('warning', (e) => print({ type: 'warning', ...e }));
session.on('downloadprogress', (e) =>
  print({
    type: 'progress',
    id: e.taskIdentifier,
    total: e.totalBytesWritten,
    written: e.bytesWritten,
    expected: e.totalBytesExpectedToWrite,
  }),
);
session.on('downloadcompleted', (e) =>
  print({
    type: 'downloadcompleted',
    id: e.taskIdentifier,
    location: e.location,
    statusCode: e.statusCode,
    mode: modeOf(e.location),
  }),
);
session.on('sessioncompleted', (e) => {
  print({ type: 'sessioncompleted', id: e.taskIdentifier, success: e.success, errorCode: e.errorCode });
  if (options.killOnComplete) process.kill(process.pid, 'SIGKILL');
});
session.on('sessioneventscompleted', () => {
  print({ type: 'sessioneventscompleted' });
  if (!options.stayOpen) session.finishTasksAndInvalidate();
});
session.on('uploadprogress', (e) => print({ type: 'uploadprogress', id: e.taskIdentifier, total: e.totalBytesSent }));
// Uploads: { url, file } streams a file; { url, bytes } sends a generated in-memory body.
(options.uploads || []).forEach((upload) => {
  const data = upload.file !== undefined ? upload.file : Buffer.alloc(upload.bytes, 9);
  print({ type: 'started', id: session.uploadTask({ url: upload.url, data, method: 'PUT' }), url: upload.url });
});
session.on('sessioncompleted', (e) => {
  if (e.responseText) print({ type: 'response', id: e.taskIdentifier, text: e.responseText });
});
(options.urls || []).forEach((url, i) => {
  try {
    const id = session.downloadTask({ url, taskDescription: (options.descriptions || [])[i] });
    print({ type: 'started', id, url });
  } catch (error) {
    print({ type: 'thrown', code: error.code, message: error.message });
    session.finishTasksAndInvalidate();
  }
});
session.getAllTasks().then((tasks) => print({ type: 'tasks', tasks }));
