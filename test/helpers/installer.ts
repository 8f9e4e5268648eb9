// For the packaging tests: packs this checkout with npm, and runs npm and node the way a user's
// machine without build tools would (a PATH holding nothing but `node`, an environment without
// this run's npm, vitest or sanitizer variables). Runs in the vitest worker's thread.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const ROOT = path.join(__dirname, '..', '..');

/** The prebuild folder node-gyp-build looks in on this machine, e.g. prebuilds/linux-x64. */
export const PREBUILD_DIR = path.join(ROOT, 'prebuilds', `${process.platform}-${process.arch}`);

/** The prebuilt addons in PREBUILD_DIR (relative to ROOT); empty when `npm run build:prebuilds` has not run. */
export function builtPrebuilds(): string[] {
  if (!fs.existsSync(PREBUILD_DIR)) return [];
  return fs
    .readdirSync(PREBUILD_DIR)
    .filter((f) => f.endsWith('.node'))
    .map((f) => path.relative(ROOT, path.join(PREBUILD_DIR, f)));
}

/** The build tools whose absence the tests prove: each is looked up on the PATH the installs get. */
export const BUILD_TOOLS = ['make', 'cc', 'gcc', 'g++', 'c++', 'clang', 'python3', 'python'];

/** npm's own entry point, run with this node (so the PATH needs no `npm`). */
export function npmCli(): string {
  const candidates = [
    process.env.npm_execpath,
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js'),
  ];
  const found = candidates.find((c) => c && /npm-cli\.js$/.test(c) && fs.existsSync(c));
  if (!found) throw new Error(`npm-cli.js not found (tried ${candidates.join(', ')})`);
  return found;
}

/** A folder holding only links to this node and to sh (npm runs install scripts with `sh`): the whole PATH of a machine without build tools. */
export function nodeOnlyBin(parent: string): string {
  const bin = path.join(parent, 'bin');
  fs.mkdirSync(bin, { mode: 0o700 });
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  fs.symlinkSync('/bin/sh', path.join(bin, 'sh'));
  return bin;
}

/**
 * This environment without what would leak this run into the child's: npm's lifecycle and
 * config variables (npm_config_local_prefix names this checkout), vitest's, NODE_OPTIONS and
 * the sanitizer pass's LD_PRELOAD. The registry and cache settings stay, so npm reaches the
 * same registry through the same cache.
 */
export function userEnv(PATH: string): NodeJS.ProcessEnv {
  const keep = new Set(['npm_config_registry', 'npm_config_cache', 'npm_config_userconfig']);
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm_|VITEST|NODE_OPTIONS$|LD_PRELOAD$|LD_LIBRARY_PATH$|ASAN_|UBSAN_|INIT_CWD$)/.test(key) && !keep.has(key))
      continue;
    env[key] = value;
  }
  env.PATH = PATH;
  return env;
}

export interface Packed {
  tarball: string;
  files: string[];
}

/** `npm pack` of this checkout into `dir`. Without scripts: dist/ is already built, and a
 * prepare step rewriting dist/ would race the test files that run beside this one. */
export function pack(dir: string): Packed {
  const out = execFileSync(
    process.execPath,
    [npmCli(), 'pack', '--json', '--ignore-scripts', '--pack-destination', dir],
    {
      cwd: ROOT,
      env: userEnv(process.env.PATH ?? ''),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const [report] = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
  return { tarball: path.join(dir, report.filename), files: report.files.map((f) => f.path) };
}

/** A new project folder (under the temp folder, so no node_modules above it is on npm's PATH). */
export function newProject(dir: string): string {
  const project = path.join(dir, 'app');
  fs.mkdirSync(project, { mode: 0o700 });
  fs.writeFileSync(
    path.join(project, 'package.json'),
    JSON.stringify({ name: 'ship-probe', version: '1.0.0', private: true }),
    { flag: 'wx' },
  );
  return project;
}

export interface Run {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end (killed at the deadline: a hang fails the test, it does not hang it). */
export function run(
  file: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; deadlineMs?: number },
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const guard = setTimeout(() => child.kill('SIGKILL'), options.deadlineMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** `npm install <tarball>` in `project`, with the PATH and environment given. */
export function npmInstall(
  project: string,
  tarball: string,
  env: NodeJS.ProcessEnv,
  wrap: string[] = [],
): Promise<Run> {
  const npm = [
    process.execPath,
    npmCli(),
    'install',
    '--no-audit',
    '--no-fund',
    '--prefer-offline',
    '--foreground-scripts',
    tarball,
  ];
  const [file, ...args] = [...wrap, ...npm];
  return run(file, args, { cwd: project, env });
}

/** The build tools found on `PATH` (none, on a machine without them). */
export function toolsOn(PATH: string): string[] {
  return BUILD_TOOLS.filter((tool) =>
    PATH.split(path.delimiter).some((dir) => dir && fs.existsSync(path.join(dir, tool))),
  );
}
