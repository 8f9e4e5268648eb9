// Compiles C++ sources of this repository into one program in a fresh temporary folder, so a
// test can run portable native code (or its use of libcurl) directly, without the addon.
// Used by test/native/*.test.ts and test/apple/apple-model.test.ts; the caller removes the folder (NativeProgram.remove()).
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const REPO_ROOT = path.join(__dirname, '..', '..');

export interface CompileOptions {
  /** Linker inputs, e.g. ['-lcurl']. */
  libraries?: string[];
  /** Extra compiler flags. */
  flags?: string[];
  /**
   * Builds with AddressSanitizer (leak checking included) and UndefinedBehaviorSanitizer, any
   * report fatal: the program then fails on a memory error or leak, not only on a wrong answer.
   */
  sanitize?: boolean;
}

const SANITIZE = ['-fsanitize=address,undefined', '-fno-sanitize-recover=undefined', '-fno-omit-frame-pointer'];

/**
 * The environment without a preloaded sanitizer runtime: `npm run test:asan` preloads clang's
 * ASan runtime into Node and so into every child, where it must not meet the compiler or a
 * program built with its own runtime (test/fuzz/run-fuzzers.sh does the same).
 */
function childEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const { LD_PRELOAD: _preload, ASAN_OPTIONS: _asan, UBSAN_OPTIONS: _ubsan, ...rest } = env;
  return rest;
}

export interface NativeProgram {
  binary: string;
  dir: string;
  /** Removes the temporary folder and the program in it. */
  remove(): void;
}

export interface NativeRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The C++ compiler: $CXX, else g++ on Linux and c++ (clang) on macOS. */
export function compiler(): string {
  return process.env.CXX ?? (process.platform === 'darwin' ? 'c++' : 'g++');
}

/**
 * Compiles `sources` (paths relative to the repository root) with `-std=c++17 -Inative`, the
 * include root every native file uses, into `<tmp>/<name>`. Rejects with the compiler's output.
 */
export async function compileNative(
  name: string,
  sources: string[],
  options: CompileOptions = {},
): Promise<NativeProgram> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `urlsession-native-${name}-`));
  const remove = (): void => fs.rmSync(dir, { recursive: true, force: true });
  const binary = path.join(dir, name);
  const args = [
    '-std=c++17',
    '-g',
    '-O1',
    '-Wall',
    '-Wextra',
    '-Wno-unused-parameter',
    ...(options.sanitize ? SANITIZE : []),
    ...(options.flags ?? []),
    `-I${path.join(REPO_ROOT, 'native')}`,
    ...sources.map((source) => path.join(REPO_ROOT, source)),
    '-o',
    binary,
    ...(options.libraries ?? []),
  ];
  try {
    await new Promise<void>((resolve, reject) => {
      execFile(compiler(), args, { env: childEnv(), maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
        if (error) reject(new Error(`${compiler()} ${args.join(' ')}\n${stdout}${stderr}`));
        else resolve();
      });
    });
  } catch (error) {
    remove();
    throw error;
  }
  return { binary, dir, remove };
}

/** Runs a compiled program to its end; never rejects (the exit code and output are the result). */
export function runNative(
  binary: string,
  args: string[] = [],
  env: NodeJS.ProcessEnv = process.env,
): Promise<NativeRun> {
  return new Promise((resolve) => {
    execFile(binary, args, { env: childEnv(env), maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Compiles a native_cases.h program (test/native/native_cases.h), runs every case, removes the
 * build and returns its output, for a test that expects `PASS <case>` of each case it lists.
 */
export async function runNativeCases(
  name: string,
  sources: string[],
  options: CompileOptions = {},
): Promise<NativeRun> {
  const program = await compileNative(name, sources, options);
  try {
    return await runNative(program.binary);
  } finally {
    program.remove();
  }
}
