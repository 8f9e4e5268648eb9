// A download that survives `kill -9`. Run it, kill it mid-transfer, run it again: the second
// run re-attaches to the persistent session and continues from the bytes already on disk
// (HTTP Range + If-Range), keeping the original task identifier.
//
//   node examples/resume-after-crash/download.js <url> [state-dir] [download-dir]
//   kill -9 <pid>            # while it runs
//   node examples/resume-after-crash/download.js <url> [state-dir] [download-dir]
//
// A finished file in a download-dir you named is yours and stays. Without one, the example
// downloads into <tmpdir>/urlsession-example-downloads and removes the file once it reported it,
// so that runs do not pile up files there.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const os = require('node:os');
const URLSession = require('urlsession');

const [url, stateDirectory = path.join(os.tmpdir(), 'urlsession-example-state'), namedDownloadDirectory] =
  process.argv.slice(2);
const downloadDirectory = namedDownloadDirectory ?? path.join(os.tmpdir(), 'urlsession-example-downloads');
if (!url) {
  console.error('usage: node download.js <url> [state-dir] [download-dir]');
  process.exit(2);
}

const session = URLSession.createSession({
  configuration: URLSession.createSessionConfiguration({
    identifier: 'com.example.resume-after-crash',
    stateDirectory,
    downloadDirectory,
  }),
});
console.log(`pid ${process.pid}, background mode: ${session.backgroundMode}`);

session.getAllTasks().then((tasks) => {
  if (tasks.length > 0) {
    for (const t of tasks) console.log(`re-attached task ${t.taskIdentifier}: ${t.url}`);
  } else {
    console.log(`started task ${session.downloadTask({ url, taskDescription: 'example download' })}`);
  }
});
session.on('downloadprogress', (e) =>
  console.log(`progress task ${e.taskIdentifier}: ${e.totalBytesWritten}/${e.totalBytesExpectedToWrite}`),
);
session.on('downloadcompleted', (e) => {
  console.log(`completed task ${e.taskIdentifier}: ${e.location}`);
  if (namedDownloadDirectory === undefined) {
    fs.rmSync(e.location, { force: true });
    console.log(`removed ${e.location} (name a download-dir to keep it)`);
  }
});
session.on('sessioncompleted', (e) => {
  if (!e.success) console.log(`failed task ${e.taskIdentifier}: ${e.errorCode} ${e.message}`);
});
session.on('sessioneventscompleted', () => session.finishTasksAndInvalidate());
