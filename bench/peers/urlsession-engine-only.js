// Diagnostic for (c), not a peer: this library's native engine and bridge driven directly, with
// none of the JS layer (no Task, promise, validation or Titanium events). The gap between this row
// and `urlsession` is what the JS layer costs per request; the gap to node-libcurl is the engine's.
'use strict';
const path = require('node:path');
const root = path.join(__dirname, '..', '..', 'dist');
const { binding } = require(path.join(root, 'binding.js'));
const { packTaskRequest } = require(path.join(root, 'native-constants.js'));
const { decodeEvents } = require(path.join(root, 'native-events.js'));
const URLSession = require(path.join(root, 'index.js'));
const { run } = require('./harness');

const EventType = { TaskCompleted: 4 };
let pending;
const native = new binding.NativeSession(
  URLSession.createSessionConfiguration({ identifier: 'engine-only' }).toNative(),
  (numbers, text, bodies) => {
    for (const event of decodeEvents(numbers, text, bodies)) if (event.type === EventType.TaskCompleted) pending(event);
  },
);
let nextId = 1;

run({
  request: (url) =>
    new Promise((resolve, reject) => {
      pending = (event) => (event.errorCode === 0 ? resolve(event.responseBody) : reject(new Error(event.message)));
      native.startTask(packTaskRequest({ taskIdentifier: nextId++, kind: 2, url, method: 'GET', headers: [] }));
    }),
  close: () => native.close(),
}).catch((error) => {
  console.error(error);
  process.exit(1);
});
