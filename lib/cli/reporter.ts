// How the CLI shows transfers: live bars on stderr when stdout is a terminal (cli-progress), or
// one JSON object per line on stdout (the Titanium events with their field names) when stdout
// is a pipe or a file, or with --json. Messages for people always go to stderr, at once.
// Runs on the main thread, from the session's event listeners.
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import type { TransferRateFields } from '../types';

/** How a transfer ended: a Ctrl-C is an interruption, not a failure. */
export type Outcome = 'ok' | 'failed' | 'interrupted';

export interface Reporter {
  /** A transfer to show; returns the handle its events update. */
  add(label: string): TransferView;
  /** A Titanium event, for the JSON stream. */
  event(name: string, fields: object): void;
  /** A line of text for people, on stderr (stdout stays machine-readable), shown at once. */
  note(text: string): void;
  stop(): void;
}

export interface TransferView {
  /**
   * `transferred` and `expected` are the whole file's (a resume's kept bytes included: the bar
   * and its percentage); `arrived` is what came since the previous update (the Titanium events'
   * bytesWritten / bytesSent), which the summary counts; `rate` is the event's live rate.
   */
  update(transferred: number, expected: number, arrived: number, rate: TransferRateFields): void;
  done(outcome: Outcome): void;
  /** What this run moved, as "1.5 MB in 1.9 s, 790.0 KB/s" (kept bytes of a resume excluded). */
  summary(): string;
}

/**
 * Decided by stdout, as `urlsession get … | jq` expects: JSON when it is not a terminal. Bars
 * need a terminal on stderr too; without one, only the messages are written.
 */
export function createReporter(json: boolean): Reporter {
  if (json || !process.stdout.isTTY) return new JsonReporter();
  return process.stderr.isTTY ? new BarReporter(process.stderr) : new TextReporter();
}

/** Bytes in the CLI's one unit system: decimal (1 MB = 1,000,000 bytes), rates included. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/**
 * What one transfer moved in this run, for its closing summary: after a resume the kept bytes
 * are on disk already and moved at no speed at all. (The live rate is the progress events'.)
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

  summary(): string {
    const seconds = this.#seconds();
    const rate = seconds > 0 ? `, ${formatBytes(this.#arrived / seconds)}/s` : '';
    return `${formatBytes(this.#arrived)} in ${seconds.toFixed(1)} s${rate}`;
  }
}

interface BarPayload {
  label: string;
  rate: string;
  eta: string;
  known: boolean;
  size: string;
  frame: string;
  /** Set once the transfer ended: its line then stays as it is, with this mark. */
  outcome?: Outcome;
}

/** The most a bar's line holds besides its label and bar: mark, percent, sizes, rate and ETA. */
const LINE_REST = 52;
/** Narrower than this a bar shows nothing; the terminal cuts the line's end instead. */
const MIN_BAR = 10;
const OUTCOME_MARKS: Record<Outcome, string> = { ok: '✓', failed: '✗', interrupted: '✗' };
const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

class BarReporter implements Reporter {
  readonly #stream: NodeJS.WriteStream;
  readonly #bars: MultiBar;
  /** Labels are padded to the longest so that the bars line up. */
  #labelWidth = 0;
  /** From the first bar until stop(): only then do the bars own the screen's last lines. */
  #drawing = false;

  constructor(stream: NodeJS.WriteStream) {
    this.#stream = stream;
    const color = !process.env.NO_COLOR;
    this.#bars = new MultiBar(
      {
        stream,
        hideCursor: true,
        clearOnComplete: false,
        stopOnComplete: false,
        etaBuffer: 20,
        fps: 10,
        // A message printed above the bars moves each of them down a line: all are redrawn, not
        // only those whose text changed.
        forceRedraw: true,
        format: (options, params, payload: BarPayload) => {
          // An ended line says so right after its label, where a narrow terminal does not cut it off.
          const outcome = payload.outcome === undefined || payload.outcome === 'ok' ? '' : `  ${payload.outcome}`;
          const label = `${payload.label}${outcome}`.padEnd(this.#labelWidth);
          // A spinner turns while bytes of unknown size arrive; an ended line shows its outcome's mark.
          const mark =
            payload.outcome !== undefined ? OUTCOME_MARKS[payload.outcome] : payload.known ? ' ' : payload.frame;
          if (!payload.known) return `${mark} ${label}  ${payload.size}  ${payload.rate}`;
          // As wide as the terminal leaves room for, within the preset's width (barsize).
          const room = (this.#stream.columns || 80) - this.#labelWidth - LINE_REST;
          const width = Math.max(MIN_BAR, Math.min(options.barsize ?? 40, room));
          const filled = Math.round(params.progress * width);
          const bar =
            (options.barCompleteString ?? '#').slice(0, filled) +
            (options.barIncompleteString ?? '-').slice(0, width - filled);
          const percent = `${Math.floor(params.progress * 100)}%`.padStart(4);
          const eta = params.progress >= 1 || payload.outcome !== undefined ? '' : `  ETA ${payload.eta}`;
          const paint = color ? `\u001b[36m${bar}\u001b[0m` : bar;
          return `${mark} ${label} ${paint} ${percent}  ${payload.size}  ${payload.rate}${eta}`;
        },
      },
      Presets.shades_classic,
    );
  }

  add(label: string): TransferView {
    const meter = new RunMeter();
    this.#labelWidth = Math.max(this.#labelWidth, label.length);
    this.#drawing = true;
    const payload: BarPayload = { label, rate: '', eta: '…', known: false, size: '0 B', frame: SPINNER[0] };
    const bar: SingleBar = this.#bars.create(1, 0, payload);
    let frame = 0;
    return {
      update: (transferred, expected, arrived, { bytesPerSecond, secondsRemaining }) => {
        if (payload.outcome !== undefined) return;
        meter.add(arrived);
        payload.rate = bytesPerSecond === null ? '' : `${formatBytes(bytesPerSecond)}/s`;
        payload.known = expected > 0;
        payload.eta = secondsRemaining === null ? '…' : `${Math.ceil(secondsRemaining)}s`;
        payload.size = payload.known
          ? `${formatBytes(transferred)}/${formatBytes(expected)}`
          : formatBytes(transferred);
        frame = (frame + 1) % SPINNER.length;
        payload.frame = SPINNER[frame];
        bar.setTotal(payload.known ? expected : Math.max(1, transferred));
        bar.update(transferred, payload);
      },
      done: (outcome) => {
        payload.outcome = outcome;
        bar.update(payload);
      },
      summary: () => meter.summary(),
    };
  }

  event(): void {}

  note(text: string): void {
    if (!this.#drawing) return void this.#stream.write(`${text}\n`);
    // MultiBar.log() only queues the line for the next redraw, and stop() draws none: redraw now.
    this.#bars.log(`${text}\n`);
    this.#bars.update();
  }

  stop(): void {
    if (this.#drawing) this.#bars.stop();
    this.#drawing = false;
  }
}

/** Messages only: stdout is a terminal but stderr is not, so no bars are drawn. */
class TextReporter implements Reporter {
  add(): TransferView {
    const meter = new RunMeter();
    return {
      update: (_transferred, _expected, arrived) => meter.add(arrived),
      done: () => undefined,
      summary: () => meter.summary(),
    };
  }
  event(_name: string, _fields: object): void {}
  note(text: string): void {
    process.stderr.write(`${text}\n`);
  }
  stop(): void {}
}

/** Stdout is not a terminal, or --json: the events go to stdout, one JSON object per line. */
class JsonReporter extends TextReporter {
  override event(name: string, fields: object): void {
    process.stdout.write(`${JSON.stringify({ event: name, ...fields })}\n`);
  }
}
