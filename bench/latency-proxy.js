#!/usr/bin/env node
// A network path with real latency on loopback, for the benchmarks (this kernel has no netem): a
// TCP proxy in front of one upstream server that
//   - delays every byte by a fixed one-way time in each direction (half the round trip);
//   - gives each new connection one round trip of handshake before its first byte travels;
//   - limits each connection's bytes in flight, per direction, to a window, as a receive window
//     does: a byte counts from the moment the proxy takes it from the sender until its
//     acknowledgement would be back, one way after it reached the receiver. Beyond the window the
//     proxy stops reading from the sender, so one connection moves at most window / RTT;
//   - shares one link rate per direction among all connections (bytes leave one after another).
// Not modelled: slow start, loss, reordering.
//
// Module: startLatencyProxy({ upstream: { host, port }, rttMs, windowBytes, rateMbps, port }) ->
//   Promise<{ port, base, stats: { connections, bytesUp, bytesDown }, close() }>
// Command line: node bench/latency-proxy.js --upstream 127.0.0.1:8080 --rtt 50 --window 1M
//   [--rate 400 (Mbit/s; 0: unlimited)] [--port 0]
// Runs on its process's event loop; the times are performance.now() milliseconds.
'use strict';
const net = require('node:net');

/**
 * One direction of one connection: bytes read from `source` wait while the window is full,
 * travel the shared `link`, and are written to `sink` once their delay has passed.
 */
class Direction {
  constructor(source, sink, link, path, readyAt, count) {
    Object.assign(this, { source, sink, link, path, readyAt, count });
    this.held = []; // read from the source, not sent yet: the window is full (or no handshake yet)
    this.heldBytes = 0;
    this.inFlight = 0; // sent and not acknowledged yet
    this.travelling = []; // { at, data } in order of arrival
    this.timers = { ready: null, arrival: null };
    this.ended = false;
    source.on('data', (data) => {
      this.held.push(data);
      this.heldBytes += data.length;
      this.send();
    });
    source.on('end', () => {
      this.ended = true;
      this.maybeEnd();
    });
  }

  // Moves held bytes onto the link while the window has room; pauses the source otherwise.
  send() {
    const now = performance.now();
    if (now < this.readyAt) {
      if (this.timers.ready === null) this.arm('ready', this.readyAt, () => this.send());
      return this.throttle();
    }
    while (this.heldBytes > 0 && this.inFlight < this.path.windowBytes) {
      let data = this.held[0];
      const room = this.path.windowBytes - this.inFlight;
      if (data.length > room) {
        this.held[0] = data.subarray(room);
        data = data.subarray(0, room);
      } else {
        this.held.shift();
      }
      this.heldBytes -= data.length;
      this.inFlight += data.length;
      // The shared link carries bytes one after another at its rate; then the one-way delay.
      const leaves = Math.max(now, this.link.freeAt);
      this.link.freeAt = leaves + data.length / this.path.bytesPerMs;
      this.travelling.push({ at: this.link.freeAt + this.path.oneWayMs, data });
      this.count(data.length);
    }
    this.throttle();
    if (this.timers.arrival === null && this.travelling.length > 0)
      this.arm('arrival', this.travelling[0].at, () => this.deliver());
  }

  throttle() {
    if (this.heldBytes > 0) this.source.pause();
    else if (!this.ended) this.source.resume();
  }

  // Runs `action` at `at` or later, never earlier: timers round, and the loop's clock may lag.
  arm(slot, at, action) {
    this.timers[slot] = setTimeout(
      () => {
        this.timers[slot] = null;
        if (performance.now() < at) return this.arm(slot, at, action);
        action();
      },
      Math.max(1, Math.ceil(at - performance.now())),
    );
  }

  // Writes what has arrived; each byte's acknowledgement returns one way after the sink took it.
  deliver() {
    const now = performance.now();
    while (this.travelling.length > 0 && this.travelling[0].at <= now) {
      const { data } = this.travelling.shift();
      if (this.sink.destroyed) continue;
      this.sink.write(data, () => setTimeout(() => this.acknowledge(data.length), this.path.oneWayMs));
    }
    if (this.travelling.length > 0) this.arm('arrival', this.travelling[0].at, () => this.deliver());
    this.maybeEnd();
  }

  acknowledge(bytes) {
    this.inFlight -= bytes;
    this.send();
  }

  // The sender's FIN travels behind its last byte.
  maybeEnd() {
    if (this.ended && this.heldBytes === 0 && this.travelling.length === 0 && !this.sink.destroyed) this.sink.end();
  }

  stop() {
    for (const timer of Object.values(this.timers)) if (timer !== null) clearTimeout(timer);
  }
}

async function startLatencyProxy({ upstream, rttMs, windowBytes, rateMbps = 0, port = 0 }) {
  if (!(rttMs >= 0) || !(windowBytes > 0)) throw new RangeError('rttMs >= 0 and windowBytes > 0 are required');
  const path = { oneWayMs: rttMs / 2, windowBytes, bytesPerMs: rateMbps > 0 ? (rateMbps * 1e6) / 8 / 1000 : Infinity };
  const links = { up: { freeAt: 0 }, down: { freeAt: 0 } };
  const stats = { connections: 0, bytesUp: 0, bytesDown: 0 };
  const open = new Set();
  // Half-open sockets: a side that sent its FIN still receives what is travelling towards it.
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    stats.connections++;
    const server = net.connect({ port: upstream.port, host: upstream.host, allowHalfOpen: true });
    open.add(client);
    open.add(server);
    client.setNoDelay(true);
    server.setNoDelay(true);
    // SYN and SYN-ACK: the client's first byte leaves one round trip after it connected.
    const readyAt = performance.now() + rttMs;
    const directions = [
      new Direction(client, server, links.up, path, readyAt, (n) => (stats.bytesUp += n)),
      new Direction(server, client, links.down, path, readyAt, (n) => (stats.bytesDown += n)),
    ];
    // A reset or an error on either side ends both at once; a clean close ends only its socket.
    const closed = (socket) => (hadError) => {
      open.delete(socket);
      if (!hadError) return;
      for (const direction of directions) direction.stop();
      client.destroy();
      server.destroy();
    };
    client.on('error', () => client.destroy()).on('close', closed(client));
    server.on('error', () => server.destroy()).on('close', closed(server));
  });
  await new Promise((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: address.port,
    base: `http://127.0.0.1:${address.port}`,
    stats,
    close: () =>
      new Promise((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function parseSize(text) {
  const match = /^(\d+(?:\.\d+)?)([kKmMgG]?)$/.exec(text ?? '');
  if (match === null) throw new RangeError(`not a size: ${text}`);
  return Math.round(Number(match[1]) * { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[match[2].toLowerCase()]);
}

function parseArguments(argv) {
  const option = (name, fallback) => {
    const at = argv.indexOf(`--${name}`);
    if (at >= 0 && argv[at + 1] !== undefined) return argv[at + 1];
    if (fallback === undefined) throw new RangeError(`--${name} is required`);
    return fallback;
  };
  const [host, upstreamPort] = option('upstream').split(':');
  return {
    upstream: { host, port: Number(upstreamPort) },
    rttMs: Number(option('rtt')),
    windowBytes: parseSize(option('window')),
    rateMbps: Number(option('rate', '0')),
    port: Number(option('port', '0')),
  };
}

if (require.main === module) {
  const options = parseArguments(process.argv.slice(2));
  startLatencyProxy(options).then(
    (proxy) =>
      process.stdout.write(
        `latency proxy on 127.0.0.1:${proxy.port} -> ${options.upstream.host}:${options.upstream.port}, RTT ${options.rttMs} ms, window ${options.windowBytes} B, rate ${options.rateMbps || 'unlimited'} Mbit/s\n`,
      ),
    (error) => {
      console.error(error.message);
      process.exit(1);
    },
  );
}

module.exports = { startLatencyProxy, parseSize };
