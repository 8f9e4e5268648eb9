// The neutral server: nginx from Debian's packages on 127.0.0.1, in its own process, with a
// temporary config (sendfile on, access log off), serving generated files and accepting uploads;
// with `{ tls: true }` the same files over HTTPS with HTTP/2 too, on a second port, with a CA and a
// certificate for 127.0.0.1 made for this run (openssl). Started and stopped by PID; installed with
// apt-get when missing.
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

function ensureNginx() {
  const found = spawnSync('sh', ['-c', 'command -v nginx || ls /usr/sbin/nginx'], { encoding: 'utf8' })
    .stdout.trim()
    .split('\n')[0];
  if (found) return found;
  process.stderr.write('bench: installing nginx (apt-get)\n');
  execFileSync(
    'sh',
    ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null'],
    { stdio: 'inherit' },
  );
  return '/usr/sbin/nginx';
}

function freePort() {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** Writes `size` bytes of random data (generated once per size, then copied). */
function makeFile(file, size) {
  const chunk = require('node:crypto').randomBytes(Math.min(size, 1 << 24));
  const fd = fs.openSync(file, 'w', 0o644);
  for (let written = 0; written < size; written += chunk.length)
    fs.writeSync(fd, chunk, 0, Math.min(chunk.length, size - written));
  fs.closeSync(fd);
}

/** A CA and a certificate for 127.0.0.1 signed by it, in `dir`: { ca, cert, key } file paths. */
function makeCertificates(dir) {
  const openssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=urlsession bench CA',
  );
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
    '-subj',
    '/CN=127.0.0.1',
  );
  fs.writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.pem',
    '-days',
    '2',
    '-extfile',
    'san.ext',
  );
  return { ca: path.join(dir, 'ca.pem'), cert: path.join(dir, 'server.pem'), key: path.join(dir, 'server.key') };
}

async function startNginx(sizes, { tls = false } = {}) {
  const binary = ensureNginx();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'urlsession-bench-nginx-'));
  // nginx's workers run as an unprivileged user: the served folder must be world-readable.
  fs.chmodSync(root, 0o755);
  const files = path.join(root, 'files');
  fs.mkdirSync(files, { mode: 0o755 });
  for (const [name, size] of Object.entries(sizes)) makeFile(path.join(files, name), size);
  const port = await freePort();
  const tlsPort = tls ? await freePort() : 0;
  const certificates = tls ? makeCertificates(root) : undefined;
  const config = `
worker_processes 1;
pid ${root}/nginx.pid;
error_log ${root}/error.log warn;
daemon on;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  keepalive_timeout 60;
  client_body_temp_path ${root}/body;
  proxy_temp_path ${root}/proxy;
  server {
    listen 127.0.0.1:${port} reuseport backlog=4096;
    root ${files};
    location /files/ { alias ${files}/; }
    # Idle tasks: a response that trickles one byte per second.
    location /slow/ { alias ${files}/; limit_rate 1; }
    # Uploads: nginx reads the whole body (request buffering), then answers without storing it.
    location = /upload {
      client_max_body_size 0;
      client_body_buffer_size 256m;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_pass http://127.0.0.1:${port}/sink;
    }
    location = /sink { return 204; }
  }${
    tls
      ? `
  server {
    listen 127.0.0.1:${tlsPort} ssl http2;
    ssl_certificate ${certificates.cert};
    ssl_certificate_key ${certificates.key};
    root ${files};
    location /files/ { alias ${files}/; }
  }`
      : ''
  }
}`;
  const conf = path.join(root, 'nginx.conf');
  fs.writeFileSync(conf, config);
  execFileSync(binary, ['-c', conf, '-p', root], { stdio: 'inherit' });
  const pid = Number(fs.readFileSync(path.join(root, 'nginx.pid'), 'utf8'));
  const version = spawnSync(binary, ['-v'], { encoding: 'utf8' }).stderr.trim().replace('nginx version: ', '');
  return {
    base: `http://127.0.0.1:${port}`,
    ...(tls ? { tlsBase: `https://127.0.0.1:${tlsPort}`, caFile: certificates.ca } : {}),
    files,
    version,
    stop() {
      try {
        process.kill(pid, 'SIGQUIT');
      } catch {
        // already gone
      }
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

module.exports = { startNginx };
