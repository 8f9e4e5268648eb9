#!/usr/bin/env node
// The `urlsession` command. Exit codes: 0 success, 1 transfer failure, 2 usage error (or a CA
// file that cannot be used), 130 interrupted (Ctrl-C). Commands load lazily so that
// `urlsession --help` and `urlsession help <command>` load neither them nor the addon.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SetupError, UsageError } from './cli/errors';
import { commandUsage, isCommand, mainUsage } from './cli/usage';

/** `urlsession --version`: this package's version, then the engine this build drives. */
async function printVersion(): Promise<number> {
  const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as {
    version: string;
  };
  process.stdout.write(`urlsession ${manifest.version}\n`);
  const { engine } = await import('./index');
  process.stdout.write(`engine: ${engine === 'apple' ? 'NSURLSession' : 'libcurl'}, Node ${process.version}\n`);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'get':
      return (await import('./cli/get')).runGet(rest);
    case 'put':
      return (await import('./cli/put')).runPut(rest);
    case 'request':
      return (await import('./cli/request')).runRequest(rest);
    case 'tasks':
      return (await import('./cli/tasks')).runTasks(rest);
    case 'resume':
      return (await import('./cli/tasks')).runResume(rest);
    case 'demo':
      return (await import('./cli/demo')).runDemo(rest);
    case '--version':
    case '-V':
      return printVersion();
    case 'help':
    case '--help':
    case '-h': {
      const [topic] = rest;
      if (topic !== undefined && !isCommand(topic)) throw new UsageError(`no command "${topic}"`);
      process.stdout.write(topic === undefined ? mainUsage() : commandUsage(topic));
      return 0;
    }
    default:
      throw new UsageError(command === undefined ? 'a command is required' : `unknown command "${command}"`);
  }
}

const argv = process.argv.slice(2);
main(argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // Bad arguments the library itself refuses (a bad URL, header or option) are usage errors too.
    const coded = (error as { code?: string }).code?.startsWith('ERR_URLSESSION') === true;
    const usage = error instanceof UsageError || coded;
    process.stderr.write(`urlsession: ${error instanceof Error ? error.message : String(error)}\n`);
    if (usage) {
      const command = error instanceof UsageError ? error.command : isCommand(argv[0]) ? argv[0] : undefined;
      process.stderr.write(`\n${command === undefined ? mainUsage() : commandUsage(command)}`);
    }
    process.exitCode = usage || error instanceof SetupError ? 2 : 1;
  },
);
