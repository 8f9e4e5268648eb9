// Child process for test/security/session-lock.test.ts: a long-lived contender for one
// persistent session identifier, driven by its parent over IPC (child_process.fork), so that one
// process can take part in many rounds.
//   parent -> child  { type: 'open', identifier, stateDirectory, downloadDirectory, gate? }
//                      with `gate` (a FIFO path): answer 'armed', then wait in a blocking read of
//                      one byte from the FIFO before opening, so every contender of a round is
//                      released by the same write; without it, open at once.
//   child -> parent  { type: 'result', owner: true } or { type: 'result', owner: false, code, message }
//   parent -> child  { type: 'release' }: the owner invalidates its session and answers 'released'.
// The blocking read is this test child's own JS thread waiting on purpose (the library never does).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const URLSession = require(path.join(__dirname, '..', '..', 'dist', 'index.js'));

let session;
const gates = new Map();

function open(message) {
  try {
    session = URLSession.createSession({
      configuration: URLSession.createSessionConfiguration({
        identifier: message.identifier,
        stateDirectory: message.stateDirectory,
        downloadDirectory: message.downloadDirectory,
      }),
    });
    process.send({ type: 'result', owner: true });
  } catch (error) {
    process.send({ type: 'result', owner: false, code: error.code, message: error.message });
  }
}

process.on('message', (message) => {
  if (message.type === 'open' && message.gate === undefined) {
    open(message);
  } else if (message.type === 'open') {
    // Opened once and kept: the parent holds the FIFO open for reading and writing, so this
    // open does not wait for a writer, and the read below waits for the round's go byte.
    if (!gates.has(message.gate)) gates.set(message.gate, fs.openSync(message.gate, fs.constants.O_RDONLY));
    const gate = gates.get(message.gate);
    // The callback runs once 'armed' is written to the channel: the parent never waits for a
    // message stuck behind this process's blocking read.
    process.send({ type: 'armed' }, () => {
      fs.readSync(gate, Buffer.alloc(1), 0, 1, null);
      open(message);
    });
  } else if (message.type === 'release') {
    session.once('invalidated', () => process.send({ type: 'released' }));
    session.invalidateAndCancel();
    session = undefined;
  } else if (message.type === 'exit') {
    process.exit(0);
  }
});
// The parent is gone (a failed test): do not linger holding the identifier.
process.on('disconnect', () => process.exit(0));
process.send({ type: 'ready', pid: process.pid });
