// How the CLI shows transfers: live bars on a terminal (cli-progress), or one JSON object per
// line (the Titanium events with their field names) on a pipe or with --json.
import { MultiBar, Presets, type SingleBar } from 'cli-progress';

export interface Reporter {
  /** A transfer to show; returns the handle its events update. */
  add(label: string): TransferView;
  /** A Titanium event, for the JSON stream. */
  event(name: string, fields: object): void;
  /** A line of text for people (stderr on a pipe, so stdout stays machine-readable). */
  note(text: string): void;
  stop(): void;
}

export interface TransferView {
  update(transferred: number, expected: number): void;
  done(ok: boolean): void;
}

export function createReporter(json: boolean, stream: NodeJS.WriteStream = process.stderr): Reporter {
  return json || !stream.isTTY ? new JsonReporter() : new BarReporter(stream);
}

function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

class BarReporter implements Reporter {
  #bars: MultiBar;
  #spinner = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

  constructor(stream: NodeJS.WriteStream) {
    const color = !process.env.NO_COLOR;
    this.#bars = new MultiBar(
      {
        stream,
        hideCursor: true,
        clearOnComplete: false,
        stopOnComplete: false,
        etaBuffer: 20,
        fps: 10,
        format: (options, params, payload: { label: string; rate: string; known: boolean; size: string; frame: string }) => {
          if (!payload.known) return `${payload.frame} ${payload.label}  ${payload.size}  ${payload.rate}`;
          const width = options.barsize ?? 30;
          const filled = Math.round(params.progress * width);
          const bar = (options.barCompleteString ?? '#').slice(0, filled) + (options.barIncompleteString ?? '-').slice(0, width - filled);
          const percent = `${Math.floor(params.progress * 100)}%`.padStart(4);
          const eta = params.progress >= 1 ? '' : `  ETA ${Number.isFinite(params.eta) ? `${params.eta}s` : '…'}`;
          const paint = color ? `\u001b[36m${bar}\u001b[0m` : bar;
          return `${payload.label} ${paint} ${percent}  ${payload.size}  ${payload.rate}${eta}`;
        },
      },
      Presets.shades_classic,
    );
  }

  add(label: string): TransferView {
    const started = process.hrtime.bigint();
    const bar: SingleBar = this.#bars.create(1, 0, { label, rate: '', known: false, size: '0 B', frame: this.#spinner[0] });
    let frame = 0;
    return {
      update: (transferred, expected) => {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const rate = seconds > 0 ? `${formatBytes(transferred / seconds)}/s` : '';
        const known = expected > 0;
        const size = known ? `${formatBytes(transferred)}/${formatBytes(expected)}` : formatBytes(transferred);
        frame = (frame + 1) % this.#spinner.length;
        bar.setTotal(known ? expected : Math.max(1, transferred));
        bar.update(transferred, { label, rate, known, size, frame: this.#spinner[frame] });
      },
      done: (ok) => {
        if (!ok) bar.update({ label: `${label} (failed)` });
      },
    };
  }

  event(): void {}

  note(text: string): void {
    this.#bars.log(`${text}\n`);
  }

  stop(): void {
    this.#bars.stop();
  }
}

class JsonReporter implements Reporter {
  add(): TransferView {
    return { update: () => undefined, done: () => undefined };
  }
  event(name: string, fields: object): void {
    process.stdout.write(`${JSON.stringify({ event: name, ...fields })}\n`);
  }
  note(text: string): void {
    process.stderr.write(`${text}\n`);
  }
  stop(): void {}
}
