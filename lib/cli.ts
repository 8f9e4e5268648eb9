#!/usr/bin/env node
// The `urlsession` command. Exit codes: 0 success, 1 transfer failure, 2 usage error,
// 130 interrupted (Ctrl-C). Commands load lazily so `urlsession --help` stays fast.
import { UsageError } from './cli/common';

const USAGE = `usage: urlsession <command> [options]

  get <url…> [-o file|dir] [-H 'K: V'] [--resume] [--integrity sha256-…] [--session id] [--json]
        download, many URLs in parallel, one progress bar each
  put <url> <file> [-X POST|PUT] [-H 'K: V'] [-v] [--json]
        upload a file with a progress bar; prints the status (and body with -v)
  request <url> [-X METHOD] [-d data|@file] [-H 'K: V'] [-i] [-f]
        print the response body to stdout (status and headers with -i; -f: exit 1 on HTTP >= 400)
  tasks --session id [--json]      list a persistent session's unfinished tasks
  resume --session id [--json]     re-attach a persistent session and finish its tasks
  demo [--json]                    offline tour: loopback server, download + upload, sha256 checks
  help                             this text

Progress bars on a terminal; on a pipe or with --json, one JSON event per line on stdout.
Exit codes: 0 success, 1 transfer failure, 2 usage error, 130 interrupted.
`;

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
      return (await import('./cli/demo')).runDemo(rest.includes('--json'));
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return 0;
    default:
      throw new UsageError(command === undefined ? 'a command is required' : `unknown command "${command}"`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const usage = error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    const coded = (error as { code?: string }).code?.startsWith('ERR_URLSESSION');
    process.stderr.write(`urlsession: ${error instanceof Error ? error.message : String(error)}\n`);
    if (usage || coded) process.stderr.write(`\n${USAGE}`);
    process.exitCode = usage || coded ? 2 : 1;
  },
);
