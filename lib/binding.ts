// Loads the compiled addon (node-gyp-build: build/Release when there is one, else the prebuild
// in prebuilds/ that matches this platform). On Linux the addon links the system's libcurl.so.4:
// where that library is missing or unusable, the dynamic loader's message becomes an error that
// names the package to install. Runs once, on the thread that first requires urlsession.
import * as path from 'node:path';
import { codedError, ErrorCodes } from './errors';
import type { NativeBinding } from './native';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const load = require('node-gyp-build') as (dir: string) => unknown;

function loadBinding(): NativeBinding {
  try {
    return load(path.join(__dirname, '..')) as NativeBinding;
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    if (!reason.includes('libcurl.so.4')) throw error;
    // The loader's one-line reason goes into the message, its stack (a dlopen trace) does not.
    throw codedError(
      ErrorCodes.LIBCURL_MISSING,
      'urlsession needs the system libcurl (libcurl.so.4) and could not load it. Install it: ' +
        'Debian/Ubuntu: apt-get install libcurl4 (libcurl4t64 on Ubuntu 24.04+ and Debian 13+); ' +
        `Fedora/RHEL: dnf install libcurl. The loader said: ${reason}`,
    );
  }
}

export const binding = loadBinding();
