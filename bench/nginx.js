// The neutral server: nginx from Debian's packages on 127.0.0.1, in its own process, with a
// temporary config (sendfile on, access log off), serving generated files and accepting uploads.
// Started and stopped by PID; installed with apt-get when missing.
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

async function startNginx(sizes) {
  const binary = ensureNginx();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'urlsession-bench-nginx-'));
  // nginx's workers run as an unprivileged user: the served folder must be world-readable.
  fs.chmodSync(root, 0o755);
  const files = path.join(root, 'files');
  fs.mkdirSync(files, { mode: 0o755 });
  for (const [name, size] of Object.entries(sizes)) makeFile(path.join(files, name), size);
  const port = await freePort();
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
  }
}`;
  const conf = path.join(root, 'nginx.conf');
  fs.writeFileSync(conf, config);
  execFileSync(binary, ['-c', conf, '-p', root], { stdio: 'inherit' });
  const pid = Number(fs.readFileSync(path.join(root, 'nginx.pid'), 'utf8'));
  const version = spawnSync(binary, ['-v'], { encoding: 'utf8' }).stderr.trim().replace('nginx version: ', '');
  return {
    base: `http://127.0.0.1:${port}`,
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
