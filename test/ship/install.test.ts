// The package as npm ships it: `npm pack` of this checkout, installed into a new project on a
// machine without build tools (PATH holds only `node` and `sh`), must load its prebuild and download
// through it; its CMakeLists.txt must build from node_modules/urlsession. Needs the prebuild
// for this platform (`npm run build:prebuilds`; .ci/run builds it before the suite).
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp';
import { makeBytes, sha256, startTaskServer, type TaskServer } from '../helpers/task-server';
import {
  BUILD_TOOLS,
  builtPrebuilds,
  newProject,
  nodeOnlyBin,
  npmInstall,
  pack,
  PREBUILD_DIR,
  ROOT,
  run,
  toolsOn,
  userEnv,
  type Packed,
  type Run,
} from '../helpers/installer';
import { noLibcurl } from '../helpers/no-libcurl';

const prebuilds = builtPrebuilds();
const notBuilt =
  prebuilds.length === 0 ? `${path.relative(ROOT, PREBUILD_DIR)} was not built: run npm run build:prebuilds` : '';

// Run in the project: downloads argv[2] into argv[3] through the installed package, prints one JSON line.
const DOWNLOAD = `const URLSession = require('urlsession');
const session = URLSession.createSession({ configuration: URLSession.createSessionConfiguration() });
session.download(process.argv[2], { destination: process.argv[3] }).done.then(
  ({ location, statusCode }) => {
    console.log(JSON.stringify({ location, statusCode, engine: URLSession.engine, module: require.resolve('urlsession'), addon: require('node-gyp-build').resolve(require('path').dirname(require.resolve('urlsession/package.json'))) }));
    session.finishTasksAndInvalidate();
  },
  (error) => { console.error(error); process.exitCode = 1; session.invalidateAndCancel(); });
`;

describe.skipIf(notBuilt)(`the packed tarball${notBuilt ? ` [skipped: ${notBuilt}]` : ''}`, () => {
  let work: string;
  let packed: Packed;
  let server: TaskServer;
  let bin: string;
  let installed: Promise<{ project: string; result: Run }> | undefined;

  beforeAll(async () => {
    work = tempDir('urlsession-ship-');
    packed = pack(work);
    bin = nodeOnlyBin(work);
    server = await startTaskServer();
  });
  afterAll(() => server?.close());

  /** One install for the tests that use it: the tarball into a new project, PATH = node and sh only. */
  function install(): Promise<{ project: string; result: Run }> {
    installed ??= (async () => {
      const project = newProject(work);
      return { project, result: await npmInstall(project, packed.tarball, userEnv(bin)) };
    })();
    return installed;
  }

  it('holds the prebuild, dist/, binding.gyp with the sources, what CMakeLists.txt reads, LICENSE and CHANGELOG; no build outputs, tests or benchmarks', () => {
    for (const file of [
      ...prebuilds,
      'dist/index.js',
      'dist/index.mjs',
      'dist/index.d.ts',
      'binding.gyp',
      'CMakeLists.txt',
      'scripts/gyp-sources.js',
      'scripts/install-check.js',
      'LICENSE',
      'CHANGELOG.md',
      'README.md',
    ]) {
      expect(packed.files).toContain(file);
    }
    const gyp = JSON.parse(fs.readFileSync(path.join(ROOT, 'binding.gyp'), 'utf8').replace(/^\s*#.*$/gm, ''));
    const sources: string[] = [
      ...gyp.targets[0].sources,
      ...gyp.targets[0].conditions.flatMap(([, block]: [string, { sources?: string[] }]) => block.sources ?? []),
    ];
    for (const source of sources) expect(packed.files).toContain(source);
    const unwanted = packed.files.filter(
      (f) => /^(build|build-cmake|node_modules|test|bench|examples|\.ci|\.github)\//.test(f) || f.endsWith('.tgz'),
    );
    expect(unwanted).toEqual([]);
    expect(fs.statSync(packed.tarball).size).toBeLessThan(2 * 1024 * 1024);
  });

  it(`installs where PATH has none of ${BUILD_TOOLS.join(', ')}, compiles nothing, and downloads through the installed package`, async () => {
    expect(toolsOn(bin)).toEqual([]);
    const { project, result } = await install();
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    const pkg = path.join(project, 'node_modules', 'urlsession');
    expect(fs.existsSync(path.join(pkg, 'build')), 'node-gyp ran: the install compiled the addon').toBe(false);
    expect(`${result.stdout}${result.stderr}`).not.toMatch(/gyp (info|ERR!)/);

    fs.writeFileSync(path.join(project, 'download.js'), DOWNLOAD, { flag: 'wx' });
    const destination = path.join(project, 'downloads') + path.sep;
    const download = await run(
      process.execPath,
      ['download.js', `${server.base}/file?size=700000&seed=211`, destination],
      { cwd: project, env: userEnv(bin), deadlineMs: 60_000 },
    );
    expect(download.code, download.stderr).toBe(0);
    const report = JSON.parse(download.stdout) as {
      location: string;
      statusCode: number;
      engine: string;
      module: string;
      addon: string;
    };
    expect(report.statusCode).toBe(200);
    expect(report.engine).toBe(process.platform === 'darwin' ? 'apple' : 'curl');
    expect(report.module.startsWith(pkg + path.sep)).toBe(true);
    expect(path.relative(pkg, report.addon)).toBe(prebuilds[0]);
    expect(createHash('sha256').update(fs.readFileSync(report.location)).digest('hex')).toBe(
      sha256(makeBytes(700_000, 211)),
    );
  }, 180_000);

  const hidden = typeof noLibcurl === 'string' ? ` [skipped: ${noLibcurl}]` : '';
  it.skipIf(typeof noLibcurl === 'string')(
    `where the system has no libcurl.so.4, installs all the same and require names the package to install${hidden}`,
    async () => {
      if (typeof noLibcurl === 'string') return;
      const project = newProject(tempDir('urlsession-ship-nocurl-'));
      const result = await npmInstall(project, packed.tarball, userEnv(bin), noLibcurl.wrap([]));
      expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
      expect(fs.existsSync(path.join(project, 'node_modules', 'urlsession', 'build'))).toBe(false);
      const [file, ...args] = noLibcurl.wrap([process.execPath, '-e', "require('urlsession')"]);
      const load = await run(file, args, { cwd: project, env: userEnv(bin) });
      expect(load.code).toBe(1);
      expect(load.stderr).toContain("code: 'ERR_URLSESSION_LIBCURL_MISSING'");
      expect(load.stderr).toContain('apt-get install libcurl4');
      expect(load.stderr).toContain('libcurl.so.4: cannot open shared object file');
      expect(load.stderr).not.toContain('ERR_DLOPEN_FAILED');
    },
    180_000,
  );

  it('the installed CMakeLists.txt builds with cmake-js from node_modules/urlsession, and the addon loads', async () => {
    const { project, result } = await install();
    expect(result.code, result.stderr).toBe(0);
    const pkg = path.join(project, 'node_modules', 'urlsession');
    const out = path.join(work, 'cmake-build');
    const cmakeJs = path.join(ROOT, 'node_modules', 'cmake-js', 'bin', 'cmake-js');
    const build = await run(process.execPath, [cmakeJs, 'build', '--directory', pkg, '--out', out, '--parallel', '2'], {
      cwd: work,
      env: userEnv(process.env.PATH ?? ''),
      deadlineMs: 300_000,
    });
    expect(build.code, `${build.stdout.slice(-4000)}\n${build.stderr.slice(-4000)}`).toBe(0);
    const probe = `const b = require(${JSON.stringify(path.join(out, 'Release', 'urlsession.node'))}); console.log(typeof b.NativeSession, b.engine)`;
    const load = await run(process.execPath, ['-e', probe], { cwd: project, env: userEnv(bin) });
    expect(load.stdout.trim(), load.stderr).toBe(`function ${process.platform === 'darwin' ? 'apple' : 'curl'}`);
  }, 320_000);
});
