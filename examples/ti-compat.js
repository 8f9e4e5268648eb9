// The seed's Titanium usage, translated to Node: a session configuration, a session, a
// download, and the module-wide events (Ti.App.iOS in Titanium, the module itself here).
// The file lands in the default download folder (<tmpdir>/urlsession-<uid>) and is the app's
// from then on: a Titanium app moves it where it keeps its data. This one keeps nothing and
// removes it, so that the folder does not fill up run after run.
// Usage: node examples/ti-compat.js <url>
'use strict';
const fs = require('node:fs');
const URLSession = require('urlsession');

const url = process.argv[2];
if (!url) {
  console.error('usage: node examples/ti-compat.js <url>');
  process.exit(2);
}

// Ti: var config = URLSession.createSessionConfiguration({ identifier: 'com.appcelerator.test' });
const config = URLSession.createSessionConfiguration({
  identifier: `com.example.ti-compat.${process.pid}`,
  HTTPHeaderFields: { 'X-Example': 'ti-compat' },
  persistent: false,
});
// Ti: var session = URLSession.createURLSession(config);
const session = URLSession.createURLSession(config);

// Ti: Ti.App.iOS.addEventListener('downloadprogress', ...)
URLSession.addEventListener('downloadprogress', (e) => {
  console.log(`downloadprogress task ${e.taskIdentifier}: ${e.totalBytesWritten}/${e.totalBytesExpectedToWrite}`);
});
URLSession.addEventListener('downloadcompleted', (e) => {
  console.log(
    `downloadcompleted task ${e.taskIdentifier}: ${e.location} (${e.data.size} bytes, HTTP ${e.statusCode}), removed`,
  );
  fs.rmSync(e.location, { force: true });
});
URLSession.addEventListener('sessioncompleted', (e) => {
  console.log(`sessioncompleted task ${e.taskIdentifier}: success=${e.success} errorCode=${e.errorCode} ${e.message}`);
  if (!e.success) process.exitCode = 1;
});
URLSession.addEventListener('sessioneventscompleted', (e) => {
  console.log(`sessioneventscompleted ${e.sessionIdentifier}`);
  // Ti: session.finishTasksAndInvalidate();
  session.finishTasksAndInvalidate();
});

// Ti: var taskId = session.downloadTask({ url: 'https://…' });
const taskIdentifier = session.downloadTask({ url });
console.log(`started download task ${taskIdentifier}`);
