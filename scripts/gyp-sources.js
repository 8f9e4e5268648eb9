#!/usr/bin/env node
// Prints the sources binding.gyp builds for one OS (`linux` or `mac`), separated by ';',
// so CMakeLists.txt compiles exactly what node-gyp compiles: binding.gyp stays the one
// source of truth. Usage: node scripts/gyp-sources.js linux
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const os = process.argv[2] || (process.platform === 'darwin' ? 'mac' : 'linux');
const text = fs.readFileSync(path.join(__dirname, '..', 'binding.gyp'), 'utf8');
const gyp = JSON.parse(text.replace(/^\s*#.*$/gm, ''));
const target = gyp.targets[0];
const sources = [...target.sources];
for (const [condition, block] of target.conditions || []) {
  if (condition === `OS=='${os}'` && block.sources) sources.push(...block.sources);
}
process.stdout.write(sources.join(';'));
