// Node's fetch (undici), streamed to the file.
import * as fs from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import harness from './harness.js';

await harness.run({
  async download(url, file) {
    const response = await fetch(url);
    await pipeline(Readable.fromWeb(response.body), fs.createWriteStream(file));
    return fs.statSync(file).size;
  },
  async request(url) {
    return Buffer.from(await (await fetch(url)).arrayBuffer());
  },
  async upload(url, file) {
    const response = await fetch(url, {
      method: 'PUT',
      body: Readable.toWeb(fs.createReadStream(file)),
      duplex: 'half',
      headers: { 'content-length': String(fs.statSync(file).size) },
    });
    await response.arrayBuffer();
    return response.status;
  },
});
