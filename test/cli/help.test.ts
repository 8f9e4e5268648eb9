// `urlsession --version`, `urlsession <command> --help` for every command (and `help <command>`),
// and usage errors that show the usage of the command they are about.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/terminal';

const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
  version: string;
};

/** Each command and flags its help must describe. */
const COMMANDS: Record<string, string[]> = {
  get: [
    '-o, --output',
    '-O, --remote-name',
    '-J, --remote-header-name',
    '-H, --header',
    '--resume',
    '--integrity',
    '--session',
    '--cacert',
    '--json',
    '-h, --help',
  ],
  put: ['-X, --request', '-H, --header', '-v, --verbose', '--session', '--cacert', '--json', '-h, --help'],
  request: [
    '-X, --request',
    '-d, --data',
    '-H, --header',
    '-i, --include',
    '-f, --fail',
    '--session',
    '--cacert',
    '-h, --help',
  ],
  tasks: ['--session', '--json', '-h, --help'],
  resume: ['--session', '--cacert', '--json', '-h, --help'],
  demo: ['--json', '-h, --help'],
};

describe('urlsession --version and --help', () => {
  it('--version prints the package version and the engine, and exits 0', async () => {
    for (const flag of ['--version', '-V']) {
      const run = await runCli([flag]);
      expect(run.code, flag).toBe(0);
      expect(run.stdout).toMatch(
        new RegExp(
          `^urlsession ${manifest.version.replace(/\./g, '\\.')}\\nengine: (libcurl|NSURLSession), Node v\\d+`,
        ),
      );
      expect(run.stderr).toBe('');
    }
  });

  it('every command has its own --help, -h and `help <command>`, on stdout, exit 0', async () => {
    for (const [command, flags] of Object.entries(COMMANDS)) {
      const help = await runCli([command, '--help']);
      expect(help.code, command).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`^usage: urlsession ${command} `));
      for (const flag of flags) expect(help.stdout, `${command}: ${flag}`).toContain(`  ${flag}`);
      expect(help.stdout).toContain('Exit codes: 0 success');
      // --help wins over missing or bad arguments, and starts nothing.
      expect(await runCli([command, '-h'])).toEqual(help);
      expect(await runCli(['help', command])).toEqual(help);
    }
    const main = await runCli(['--help']);
    expect(main.code).toBe(0);
    for (const command of Object.keys(COMMANDS)) expect(main.stdout).toContain(`\n  ${command} `);
    expect(main.stdout).toContain('`urlsession <command> --help`');
  });

  it('a usage error shows the usage of its command and exits 2', async () => {
    const unknown = await runCli(['put', 'http://127.0.0.1:1/', '--bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^urlsession: Unknown option '--bogus'/);
    expect(unknown.stderr).toContain('\nusage: urlsession put <url> <file>');
    expect(unknown.stderr).not.toContain('usage: urlsession <command>');
    const scheme = await runCli(['get', 'ftp://127.0.0.1/x']);
    expect(scheme.code).toBe(2);
    expect(scheme.stderr).toContain('\nusage: urlsession get <url…>');
    const topic = await runCli(['help', 'bogus']);
    expect(topic.code).toBe(2);
    expect(topic.stderr).toContain('no command "bogus"');
  });
});
