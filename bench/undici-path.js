// Where the benchmarks find undici, which is not a dependency of this package: $UNDICI, else the
// scratch install `npm i --prefix /tmp/undici-bench undici@6`. undiciPath() is undefined when
// neither can be loaded (the callers then skip undici's rows and say so).
'use strict';
const path = require('node:path');

const SCRATCH = path.join('/tmp', 'undici-bench', 'node_modules', 'undici');

function undiciPath() {
  const candidate = process.env.UNDICI ?? SCRATCH;
  try {
    return require.resolve(candidate);
  } catch {
    return undefined;
  }
}

module.exports = { undiciPath, SCRATCH };
