// Upload a file (streamed from disk, never read whole into memory) with upload progress.
// Usage: node examples/upload.mjs <url> <file> [PUT|POST]
import * as URLSession from 'urlsession';

const [url, file, method = 'PUT'] = process.argv.slice(2);
if (!url || !file) {
  console.error('usage: node examples/upload.mjs <url> <file> [PUT|POST]');
  process.exit(2);
}

const session = URLSession.createSession({ configuration: URLSession.createSessionConfiguration() });
const task = session.upload(url, file, { method, throwHttpErrors: false });
task.on('progress', ({ direction, transferred, expected }) => {
  if (direction === 'upload') process.stderr.write(`\rsent ${transferred}/${expected}`);
});
const { statusCode, body } = await task.done;
console.error(`\nHTTP ${statusCode}`);
process.stdout.write(body);
process.exitCode = statusCode < 400 ? 0 : 1;
session.finishTasksAndInvalidate();
