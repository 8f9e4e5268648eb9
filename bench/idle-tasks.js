// Memory per idle task: N downloads that trickle one byte per second, RSS before and after.
'use strict';
const path = require('node:path');
const URLSession = require(path.join(__dirname, '..', 'dist', 'index.js'));

const [url, count] = [process.argv[2], Number(process.argv[3])];
const session = URLSession.createSession({ configuration: URLSession.createSessionConfiguration({ HTTPMaximumConnectionsPerHost: count, downloadDirectory: process.argv[4] }) });
global.gc?.();
const before = process.memoryUsage().rss;
for (let i = 0; i < count; i++) session.downloadTask({ url: `${url}?i=${i}` });
setTimeout(() => {
  const after = process.memoryUsage().rss;
  process.stdout.write(`${JSON.stringify({ perTaskKiB: (after - before) / 1024 / count })}\n`);
  session.invalidateAndCancel();
}, 1500);
