// Download a file with the promise API, with progress, integrity-free and resumable on failure.
// Usage: node examples/node-download.mjs <url> [destination]
import * as URLSession from 'urlsession';

const [url, destination = './'] = process.argv.slice(2);
if (!url) {
  console.error('usage: node examples/node-download.mjs <url> [destination]');
  process.exit(2);
}

const session = URLSession.createSession({ configuration: URLSession.createSessionConfiguration() });
const task = session.download(url, { destination, retry: 2 });
task.on('progress', ({ transferred, expected }) => {
  const percent = expected > 0 ? ` ${Math.floor((transferred / expected) * 100)}%` : '';
  process.stderr.write(`\r${transferred} bytes${percent}`);
});
try {
  const { location, statusCode, metrics } = await task.done;
  console.error(`\nHTTP ${statusCode} over ${metrics.protocol} in ${metrics.totalMs.toFixed(0)} ms`);
  console.log(location);
} catch (error) {
  console.error(`\ndownload failed: ${error.message}`);
  process.exitCode = 1;
} finally {
  session.finishTasksAndInvalidate();
}
