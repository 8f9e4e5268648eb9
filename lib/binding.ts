// Loads the compiled addon: a prebuild from prebuilds/ when one matches, else build/Release.
import * as path from 'node:path';
import type { NativeBinding } from './native';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const load = require('node-gyp-build') as (dir: string) => unknown;

export const binding = load(path.join(__dirname, '..')) as NativeBinding;
