#!/usr/bin/env node
// The `urlsession` command. Exit codes: 0 success, 1 transfer failure, 2 usage error.
import { runDemo } from './cli/demo';

const USAGE = `usage: urlsession <command>

commands:
  demo      download and upload generated files through a loopback server, with
            progress, and verify their sha256 (no network needed)
  help      show this text
`;

async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  switch (command) {
    case 'demo':
      return runDemo();
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(command === undefined ? USAGE : `urlsession: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`urlsession: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
