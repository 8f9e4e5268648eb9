// Peers that cannot be ordinary devDependencies. node-libcurl's prebuilt binaries come from
// GitHub and its 4.1 release depends on a git fork of nan, so npm ci would fail offline or spend
// minutes compiling on every CI run. The suite installs node-libcurl 4.0.0 once, built from
// source against the system libcurl, into bench/.peers (git-ignored). aria2c (bench/latency.js)
// comes from Debian's packages, installed with apt-get when missing.
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const PEERS_DIR = path.join(__dirname, '.peers');
const NODE_LIBCURL = 'node-libcurl@4.0.0';

function nodeLibcurlInstalled() {
  try {
    require(path.join(PEERS_DIR, 'node_modules', 'node-libcurl'));
    return true;
  } catch {
    return false;
  }
}

/** Returns true when node-libcurl can be loaded, installing it first when `install` is set. */
function ensureNodeLibcurl({ install }) {
  if (nodeLibcurlInstalled()) return true;
  if (!install) return false;
  process.stderr.write(
    `bench: installing ${NODE_LIBCURL} into bench/.peers (built from source, takes a few minutes once)\n`,
  );
  fs.mkdirSync(PEERS_DIR, { recursive: true });
  if (!fs.existsSync(path.join(PEERS_DIR, 'package.json')))
    fs.writeFileSync(path.join(PEERS_DIR, 'package.json'), '{"private":true}\n');
  try {
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--build-from-source', NODE_LIBCURL], {
      cwd: PEERS_DIR,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  } catch (error) {
    process.stderr.write(
      `bench: ${NODE_LIBCURL} could not be installed (${error.message.split('\n')[0]}); (c) runs without it\n`,
    );
  }
  return nodeLibcurlInstalled();
}

/** Returns the aria2c command, installing Debian's aria2 first when it is missing. */
function ensureAria2() {
  if (spawnSync('sh', ['-c', 'command -v aria2c']).status === 0) return 'aria2c';
  process.stderr.write('bench: installing aria2 (apt-get)\n');
  execFileSync(
    'sh',
    ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq aria2 >/dev/null'],
    { stdio: 'inherit' },
  );
  return 'aria2c';
}

module.exports = { ensureNodeLibcurl, ensureAria2 };
