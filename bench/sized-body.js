// For the benchmarks' own small servers: sends `size` bytes of `chunk`'s content as fast as the
// socket takes them (waiting for 'drain'), with a Content-Length, then ends the response.
'use strict';

function sendSized(res, size, chunk) {
  res.writeHead(200, { 'content-length': size });
  let sent = 0;
  const pump = () => {
    while (sent < size) {
      const piece = chunk.subarray(0, Math.min(chunk.length, size - sent));
      sent += piece.length;
      if (!res.write(piece)) return void res.once('drain', pump);
    }
    res.end();
  };
  pump();
}

module.exports = { sendSized };
