// Child process of the segmented-download resume test (test/task/segments-resume.test.ts): one
// life of a persistent session, which the parent SIGKILLs mid-download. It re-attaches the
// session (the journal's tasks resume by themselves), starts a segmented download when given a
// URL, and prints one JSON line per fact, written synchronously so that every line printed
// before the kill reaches the parent.
// argv: { identifier, stateDirectory, downloadDirectory, url?, segments? } as JSON.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const options = JSON.parse(process.argv[2]);
const print = (event) => fs.writeSync(1, `${JSON.stringify(event)}\n`);
const URLSession = require(path.join(__dirname, '..', '..', 'dist', 'index.js'));
const session = URLSession.createSession({
  configuration: URLSession.createSessionConfiguration({
    identifier: options.identifier,
    stateDirectory: options.stateDirectory,
    downloadDirectory: options.downloadDirectory,
  }),
});
session.on('downloadprogress', (e) => print({ type: 'progress', id: e.taskIdentifier, total: e.totalBytesWritten }));
session.on('downloadcompleted', (e) =>
  print({ type: 'downloadcompleted', id: e.taskIdentifier, location: e.location }),
);
session.on('sessioncompleted', (e) =>
  print({ type: 'completed', id: e.taskIdentifier, success: e.success, errorCode: e.errorCode, message: e.message }),
);
print({ type: 'open' });
if (options.url !== undefined) {
  const id = session.downloadTask({ url: options.url, segments: options.segments });
  print({ type: 'started', id });
}
