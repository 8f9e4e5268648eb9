// The CLI's help texts. Each command's synopsis, summary and options are written here once;
// `urlsession --help` lists the synopses and `urlsession <command> --help` shows one command.
// Runs on the main thread, before any session exists (help must not load the addon).

interface CommandHelp {
  synopsis: string;
  summary: string;
  /** [flags, what they do] pairs; the help and version flags are added to every command. */
  options: ReadonlyArray<readonly [string, string]>;
}

const CACERT = [
  '--cacert <file>',
  'also trust the CA certificates (PEM) in <file> (repeatable; see Trust below)',
] as const;
const JSON_FLAG = ['--json', 'one JSON event per line on stdout, on a terminal too'] as const;
const HEADER = ["-H, --header 'K: V'", 'add a request header (repeatable)'] as const;

export const COMMANDS = {
  get: {
    synopsis:
      "get <url…> [-o file|dir] [-O | -J] [-H 'K: V'] [--resume] [--integrity sha256-…] [--session id] [--cacert file] [--json]",
    summary: 'download, many URLs in parallel, one progress bar each',
    options: [
      [
        '-o, --output <file|dir>',
        'save to <file> (one URL), or into the folder <dir> (it exists or ends with /). Default: ./',
      ],
      [
        '-O, --remote-name',
        "name each file after its URL's last path segment, as curl -O does (the server's Content-Disposition is ignored)",
      ],
      [
        '-J, --remote-header-name',
        "name each file as the server's Content-Disposition says, else after the URL it came from (the default for a folder)",
      ],
      HEADER,
      ['--resume', 'on Ctrl-C keep the partial file; the same command continues it'],
      ['--integrity sha256-…', 'fail, leaving nothing, unless the bytes have this digest (Subresource Integrity)'],
      ['--session <id>', 'a persistent session: Ctrl-C keeps its work for `urlsession resume --session <id>`'],
      CACERT,
      JSON_FLAG,
    ],
  },
  put: {
    synopsis: "put <url> <file> [-X POST|PUT] [-H 'K: V'] [-v] [--cacert file] [--json]",
    summary: 'upload a file with a progress bar; prints the status (and body with -v)',
    options: [
      ['-X, --request <method>', 'the method. Default: PUT'],
      HEADER,
      ['-v, --verbose', 'print the response body to stdout'],
      ['--session <id>', 'upload in a persistent session'],
      CACERT,
      JSON_FLAG,
    ],
  },
  request: {
    synopsis: "request <url> [-X METHOD] [-d data|@file] [-H 'K: V'] [-i] [-f] [--cacert file]",
    summary: 'print the response body to stdout (status and headers with -i; -f: exit 1 on HTTP >= 400)',
    options: [
      ['-X, --request <method>', 'the method. Default: GET, or POST with -d'],
      ['-d, --data <data|@file>', 'send <data>, or the file <file> read from disk at any size'],
      HEADER,
      ['-i, --include', 'print the status line and headers before the body'],
      ['-f, --fail', 'exit 1 when the status is 400 or more'],
      ['--session <id>', 'send it in a persistent session'],
      CACERT,
    ],
  },
  tasks: {
    synopsis: 'tasks --session id [--json]',
    summary: "list a persistent session's unfinished tasks, without starting them",
    options: [
      ['--session <id>', 'the session (required)'],
      ['--json', 'one JSON object on stdout'],
    ],
  },
  resume: {
    synopsis: 'resume --session id [--cacert file] [--json]',
    summary: 're-attach a persistent session and finish its tasks',
    options: [['--session <id>', 'the session (required)'], CACERT, JSON_FLAG],
  },
  demo: {
    synopsis: 'demo [--json]',
    summary: 'offline tour: loopback server, download + upload, sha256 checks',
    options: [JSON_FLAG],
  },
} satisfies Record<string, CommandHelp>;

export type CommandName = keyof typeof COMMANDS;

export function isCommand(name: string | undefined): name is CommandName {
  return name !== undefined && Object.hasOwn(COMMANDS, name);
}

const OUTPUT = `Progress bars on stderr when stdout is a terminal; when stdout is a pipe or a file, or with
--json, one JSON event per line on stdout. Messages (failures, saved files) always go to stderr.`;

const TRUST = `Trust: the system's CA certificates, plus those in every --cacert file; without --cacert, the
file named by CURL_CA_BUNDLE, else SSL_CERT_FILE (as curl reads them); plus NODE_EXTRA_CA_CERTS
(as Node reads it). They are added to the system's certificates, never used instead of them.`;

const EXIT = `Exit codes: 0 success, 1 transfer failure, 2 usage error (or a CA file that cannot be used),
130 interrupted.`;

/** `urlsession --help`. */
export function mainUsage(): string {
  const lines = ['usage: urlsession <command> [options]', ''];
  for (const help of Object.values(COMMANDS) as CommandHelp[])
    lines.push(`  ${help.synopsis}`, `        ${help.summary}`);
  lines.push(
    '  help [command]',
    "        this text, or one command's",
    '  --version',
    '        the version and the transfer engine',
  );
  lines.push('', "`urlsession <command> --help` describes a command's options.", '', OUTPUT, '', TRUST, '', EXIT, '');
  return lines.join('\n');
}

/** `urlsession <command> --help`. */
export function commandUsage(command: CommandName): string {
  const help: CommandHelp = COMMANDS[command];
  const options = [...help.options, ['-h, --help', 'this text'] as const];
  const width = Math.max(...options.map(([flags]) => flags.length));
  const lines = [`usage: urlsession ${help.synopsis}`, '', help.summary, ''];
  for (const [flags, what] of options) lines.push(`  ${flags.padEnd(width)}  ${what}`);
  lines.push('');
  if (help.options.includes(CACERT)) lines.push(TRUST, '');
  lines.push(EXIT, '');
  return lines.join('\n');
}
