// The package as an application installs it: a TypeScript consumer outside the repository
// (node_modules/urlsession links to it) in both module formats, compiled by the real tsc under
// node16 with esModuleInterop and run by node. `import URLSession from 'urlsession'` must be
// the module in CommonJS (.cts) as in ESM (.mts): it type-checks in both, so it must work in
// both, sharing one module with the named imports.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp';

const ROOT = path.join(__dirname, '..', '..');
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
    child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

// Each consumer prints what its default import is, next to a named import of the same module.
const consumer = (format: string): string => `import URLSession from 'urlsession';
import { createSessionConfiguration, engine } from 'urlsession';
const configuration = URLSession.createSessionConfiguration({ identifier: 'consumer-${format}', persistent: false });
console.log(JSON.stringify({
  format: '${format}',
  engine: URLSession.engine === engine ? engine : 'different',
  shared: URLSession.createSessionConfiguration === createSessionConfiguration,
  identifier: configuration.identifier,
}));
`;

describe('module formats', () => {
  it('the default import is the module in CommonJS and in ESM TypeScript (node16, esModuleInterop)', async () => {
    const dir = tempDir('urlsession-consumer-');
    fs.mkdirSync(path.join(dir, 'node_modules'));
    fs.symlinkSync(ROOT, path.join(dir, 'node_modules', 'urlsession'), 'dir');
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
    fs.writeFileSync(path.join(dir, 'consumer.cts'), consumer('cjs'));
    fs.writeFileSync(path.join(dir, 'consumer.mts'), consumer('esm'));
    fs.writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'node16',
          moduleResolution: 'node16',
          strict: true,
          esModuleInterop: true,
          outDir: 'out',
          skipLibCheck: true,
          types: ['node'],
          typeRoots: [path.join(ROOT, 'node_modules', '@types')],
        },
        files: ['consumer.cts', 'consumer.mts'],
      }),
    );
    const compiled = await run([TSC, '-p', dir], dir);
    expect(compiled.stdout + compiled.stderr).toBe('');
    expect(compiled.code).toBe(0);
    for (const [file, format] of [
      ['consumer.cjs', 'cjs'],
      ['consumer.mjs', 'esm'],
    ]) {
      const result = await run([path.join(dir, 'out', file)], dir);
      expect(result.stderr).toBe('');
      expect(JSON.parse(result.stdout)).toEqual({
        format,
        engine: process.platform === 'darwin' ? 'apple' : 'curl',
        shared: true,
        identifier: `consumer-${format}`,
      });
    }
  });
});
