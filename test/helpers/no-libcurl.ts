// A machine without libcurl, for one command at a time: the command runs in a private mount
// namespace (unshare, root only) where an overlay with whiteouts for libcurl.so.4* covers the
// folder that holds the system's libcurl, so the dynamic loader finds no libcurl.so.4 anywhere,
// as where the package is not installed. The overlay dies with the namespace; nothing outside
// the command sees it. Linux only; runs in the vitest worker's thread.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tempDir } from '../helpers/temp';
import { ROOT } from './installer';

// $1: an empty folder for the overlay's upper and work folders, $2: the folder to cover, then
// the command. The tools come from the system's folders; the command gets the caller's PATH.
const SCRIPT = `set -e
user_path=$PATH
PATH=/usr/sbin:/usr/bin:/sbin:/bin
base=$1 lower=$2
shift 2
mkdir "$base/upper" "$base/work"
for name in $(ls "$lower" | grep '^libcurl\\.so\\.4'); do mknod "$base/upper/$name" c 0 0; done
mount -t overlay overlay -o "lowerdir=$lower,upperdir=$base/upper,workdir=$base/work" "$lower"
PATH=$user_path
exec "$@"`;

/** The folder the loader takes libcurl.so.4 from, read from a child's memory map after it loaded the addon. */
function libcurlFolder(): string | undefined {
  const script = `require(${JSON.stringify(path.join(ROOT, 'dist', 'index.js'))});
    const line = require('fs').readFileSync('/proc/self/maps', 'utf8').split('\\n').find((l) => /\\/libcurl\\.so\\.4/.test(l));
    if (line) console.log(line.slice(line.indexOf('/')));`;
  try {
    const file = execFileSync(process.execPath, ['-e', script], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    return file ? path.dirname(file) : undefined;
  } catch {
    return undefined;
  }
}

export interface NoLibcurl {
  /** `command` prefixed so that it runs where libcurl.so.4 does not exist. */
  wrap(command: string[]): string[];
}

function probe(): NoLibcurl | string {
  if (process.platform !== 'linux') return 'libcurl is the Linux engine';
  if (process.getuid?.() !== 0) return 'hiding libcurl needs root (a mount namespace and an overlay mount)';
  const unshare = ['/usr/bin/unshare', '/bin/unshare'].find((f) => fs.existsSync(f));
  if (!unshare) return 'no unshare(1)';
  const lower = libcurlFolder();
  if (!lower) return 'the addon does not load here, or loads no libcurl.so.4';
  const inside = (base: string, command: string[]): string[] => [
    unshare,
    '--mount',
    '--propagation',
    'private',
    '/bin/sh',
    '-c',
    SCRIPT,
    'sh',
    base,
    lower,
    ...command,
  ];
  // The trial runs while the test file is collected, when no test may run (and so no afterAll
  // hook): its folder is removed here, not by test/helpers/temp.
  const trialBase = fs.mkdtempSync(path.join(os.tmpdir(), 'urlsession-nolibcurl-'));
  try {
    const [file, ...args] = inside(trialBase, [
      '/bin/sh',
      '-c',
      `! ls "$1" | grep -q '^libcurl\\.so\\.4'`,
      'sh',
      lower,
    ]);
    const trial = spawnSync(file, args, { stdio: 'ignore', timeout: 20_000 });
    if (trial.status !== 0)
      return `a mount namespace with an overlay over ${lower} is not possible here (unshare/mount failed)`;
  } finally {
    fs.rmSync(trialBase, { recursive: true, force: true });
  }
  return { wrap: (command) => inside(tempDir('urlsession-nolibcurl-'), command) };
}

/** The means to run commands without libcurl, or why there are none on this machine. */
export const noLibcurl: NoLibcurl | string = probe();
