// Runs examples/titanium-app/app.js in Node as iOS runs a Titanium app: the script as a
// sloppy-mode script in the global scope, with the globals of ti-shim.js, and, when the app's background session
// has unfinished work from an earlier process, a `backgroundtransfer` event right after the
// script ran (what iOS does when it relaunches an app for its background session). Then it
// takes commands, the user's taps and the system's wake-ups: each argument is one, then one per
// line of stdin.
//
//   click <title>     taps the button with that title
//   backgroundfetch   fires backgroundfetch (iOS waking the app to fetch)
//   ui                prints the windows' tree
//   quit              exits
//
// Every log line of the app, and every event and command of this runner, is one JSON line on stdout.
//
//   TI_APP_ROOT=/tmp/ti [TI_APP_SERVER=http://127.0.0.1:8080] node examples/titanium-app/run.js 'click Download Image (url)'
//
// TI_APP_ROOT (required) holds everything the app and the library keep: data/ (the app's data
// folder and its Properties), cache/ (XDG_CACHE_HOME: the sessions' state folders), tmp/
// (TMPDIR: the default download folder) and home/ (HOME). Nothing goes to the real home.
// TI_APP_SERVER: see ti-shim.js.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');
const vm = require('node:vm');

const APP = path.join(__dirname, 'app.js');
/** The background sessions the app creates (iOS knows them; here it is the identifier in app.js). */
const BACKGROUND_SESSIONS = ['com.test.test2'];

const log = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);

const root = process.env.TI_APP_ROOT;
if (!root || !path.isAbsolute(root)) {
  process.stderr.write("run.js: set TI_APP_ROOT to an absolute folder for the app's data and state\n");
  process.exit(2);
}
const folders = { data: 'data', cache: 'cache', tmp: 'tmp', home: 'home' };
for (const key of Object.keys(folders)) {
  folders[key] = path.join(root, folders[key]);
  fs.mkdirSync(folders[key], { recursive: true, mode: 0o700 });
}
process.env.XDG_CACHE_HOME = folders.cache;
process.env.TMPDIR = folders.tmp;
process.env.HOME = folders.home;

// Loaded after the variables are set: the library derives its default folders from them.
const { createTitanium } = require('./ti-shim');

/**
 * Whether a session left unfinished work (tasks, or completions not yet delivered), asked the
 * library's own way without opening the session: `urlsession tasks --session <id> --json`, which
 * reads the journal in the state folder and starts nothing.
 */
function hasUnfinishedWork(identifier) {
  const manifest = require.resolve('urlsession/package.json');
  const cli = path.join(path.dirname(manifest), require(manifest).bin.urlsession);
  const out = execFileSync(process.execPath, [cli, 'tasks', '--session', identifier, '--json'], { encoding: 'utf8' });
  const listing = JSON.parse(out);
  return listing.tasks.length > 0 || listing.undelivered > 0;
}
const unfinished = BACKGROUND_SESSIONS.filter(hasUnfinishedWork);

const ti = createTitanium({ dataDirectory: folders.data, server: process.env.TI_APP_SERVER, log });
// The script runs in this realm's global scope, as a Titanium app runs in its JS context's: its
// top-level vars become globals, and its objects are this realm's (the library checks option
// objects against this realm's Object.prototype).
Object.assign(globalThis, { Ti: ti.Ti, Titanium: ti.Ti, require: ti.require });
log({ type: 'launch', pid: process.pid, unfinished });
new vm.Script(fs.readFileSync(APP, 'utf8'), { filename: APP }).runInThisContext();
for (const sessionId of unfinished) ti.fire('backgroundtransfer', { sessionId });

function run(command) {
  const text = command.trim();
  const verb = text.split(/\s+/)[0];
  const argument = text.slice(verb.length).trim();
  switch (verb) {
    case '':
      return;
    case 'click':
      return log({ type: 'command', command: text, ok: ti.click(argument) });
    case 'backgroundfetch':
      ti.fire('backgroundfetch', {});
      return;
    case 'ui':
      return log({ type: 'ui', windows: ti.describeUI() });
    case 'quit':
      return process.exit(0);
    default:
      return log({ type: 'command', command: text, ok: false, message: `unknown command ${verb}` });
  }
}

// After the window's 'open' (queued while the script ran).
setImmediate(() => {
  for (const command of process.argv.slice(2)) run(command);
  readline.createInterface({ input: process.stdin }).on('line', run);
});
