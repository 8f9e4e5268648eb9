// The check `npm install` runs (node-gyp-build's install step reads package.json's
// "prebuild.test"): load the addon as urlsession itself does. Success, or a libcurl.so.4 the
// system does not have (ERR_URLSESSION_LIBCURL_MISSING), keeps the prebuild: compiling could
// not help, since the build links the same system libcurl, and the first require names the
// package to install. Any other failure (no prebuild for this platform, no dist/ in a git
// clone) throws, and node-gyp-build compiles from source.
'use strict';

try {
  require('../dist/binding.js');
} catch (error) {
  if (!error || error.code !== require('../dist/errors.js').ErrorCodes.LIBCURL_MISSING) throw error;
  console.error(error.message);
}
