// got, streaming API.
import * as fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import got from 'got';
import harness from './harness.js';

const client = got.extend({ retry: { limit: 0 }, agent: {} });
await harness.run({
  async download(url, file) {
    await pipeline(client.stream(url), fs.createWriteStream(file));
    return fs.statSync(file).size;
  },
  request: (url) => client(url).buffer(),
  async upload(url, file) {
    const response = await client.put(url, {
      body: fs.createReadStream(file),
      headers: { 'content-length': String(fs.statSync(file).size) },
    });
    return response.statusCode;
  },
});
