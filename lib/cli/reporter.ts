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
  /**
   * `transferred` and `expected` are the whole file's (a resume's kept bytes included: the bar
   * and its percentage); `arrived` is what came since the previous update (the Titanium events'
   * bytesWritten / bytesSent), the only bytes the rate and ETA count.
   */
  update(transferred: number, expected: number, arrived: number): void;
  done(ok: boolean): void;
  /** What this run moved, as "1.5 MB in 1.9 s, 790.0 KB/s" (kept bytes of a resume excluded). */
  summary(): string;
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

/** A rate shown from less time than this is noise: the first bytes' arrival, not the link. */
const SETTLE_SECONDS = 0.5;

/**
 * Rate and ETA of one transfer from the bytes that arrived in this run only: after a resume the
 * kept bytes are on disk already and moved at no speed at all.
 */
class RunMeter {
  readonly #started = process.hrtime.bigint();
  #arrived = 0;

  add(bytes: number): void {
    this.#arrived += bytes;
  }

  #seconds(): number {
    return Number(process.hrtime.bigint() - this.#started) / 1e9;
  }

  /** Bytes per second so far; undefined until the run has gone on long enough to tell. */
  rate(): number | undefined {
    const seconds = this.#seconds();
    return seconds >= SETTLE_SECONDS && this.#arrived > 0 ? this.#arrived / seconds : undefined;
  }

  /** Whole seconds until `remaining` more bytes have come at the rate so far. */
  eta(remaining: number): number | undefined {
    const rate = this.rate();
    return rate === undefined ? undefined : Math.ceil(Math.max(0, remaining) / rate);
  }

  summary(): string {
    const seconds = this.#seconds();
    const rate = seconds > 0 ? `, ${formatBytes(this.#arrived / seconds)}/s` : '';
    return `${formatBytes(this.#arrived)} in ${seconds.toFixed(1)} s${rate}`;
  }
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
        format: (options, params, payload: { label: string; rate: string; eta: string; known: boolean; size: string; frame: string }) => {
          if (!payload.known) return `${payload.frame} ${payload.label}  ${payload.size}  ${payload.rate}`;
          const width = options.barsize ?? 30;
          const filled = Math.round(params.progress * width);
          const bar = (options.barCompleteString ?? '#').slice(0, filled) + (options.barIncompleteString ?? '-').slice(0, width - filled);
          const percent = `${Math.floor(params.progress * 100)}%`.padStart(4);
          const eta = params.progress >= 1 ? '' : `  ETA ${payload.eta}`;
          const paint = color ? `\u001b[36m${bar}\u001b[0m` : bar;
          return `${payload.label} ${paint} ${percent}  ${payload.size}  ${payload.rate}${eta}`;
        },
      },
      Presets.shades_classic,
    );
  }

  add(label: string): TransferView {
    const meter = new RunMeter();
    const bar: SingleBar = this.#bars.create(1, 0, { label, rate: '', eta: '…', known: false, size: '0 B', frame: this.#spinner[0] });
    let frame = 0;
    return {
      update: (transferred, expected, arrived) => {
        meter.add(arrived);
        const bytesPerSecond = meter.rate();
        const rate = bytesPerSecond === undefined ? '' : `${formatBytes(bytesPerSecond)}/s`;
        const known = expected > 0;
        const eta = known ? meter.eta(expected - transferred) : undefined;
        const size = known ? `${formatBytes(transferred)}/${formatBytes(expected)}` : formatBytes(transferred);
        frame = (frame + 1) % this.#spinner.length;
        bar.setTotal(known ? expected : Math.max(1, transferred));
        bar.update(transferred, { label, rate, eta: eta === undefined ? '…' : `${eta}s`, known, size, frame: this.#spinner[frame] });
      },
      done: (ok) => {
        if (!ok) bar.update({ label: `${label} (failed)` });
      },
      summary: () => meter.summary(),
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
    const meter = new RunMeter();
    return { update: (_transferred, _expected, arrived) => meter.add(arrived), done: () => undefined, summary: () => meter.summary() };
  }
  event(name: string, fields: object): void {
    process.stdout.write(`${JSON.stringify({ event: name, ...fields })}\n`);
  }
  note(text: string): void {
    process.stderr.write(`${text}\n`);
  }
  stop(): void {}
}
