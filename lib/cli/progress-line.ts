// One progress line per transfer: redrawn in place on a TTY, printed at 25% steps elsewhere
// (so logs and pipes stay readable).
const BAR_WIDTH = 28;

export class ProgressLine {
  #out: NodeJS.WriteStream;
  #label: string;
  #started = process.hrtime.bigint();
  #lastQuarter = -1;
  #done = false;
  #lastTotal = 0;
  #lastExpected = 0;

  constructor(out: NodeJS.WriteStream, label: string) {
    this.#out = out;
    this.#label = label;
  }

  update(total: number, expected: number): void {
    this.#lastTotal = total;
    this.#lastExpected = expected;
    if (this.#out.isTTY) {
      this.#out.write(`\r${this.#render(total, expected)}`);
      return;
    }
    const quarter = expected > 0 ? Math.floor((total / expected) * 4) : -1;
    if (quarter > this.#lastQuarter) {
      this.#lastQuarter = quarter;
      this.#out.write(`${this.#render(total, expected)}\n`);
    }
  }

  finish(): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#out.isTTY) this.#out.write(`\r${this.#render(this.#lastTotal, this.#lastExpected)}\n`);
  }

  #render(total: number, expected: number): string {
    const seconds = Number(process.hrtime.bigint() - this.#started) / 1e9;
    const rate = seconds > 0 ? total / seconds / 1e6 : 0;
    if (expected <= 0) return `${this.#label} ${(total / 1e6).toFixed(1)} MB  ${rate.toFixed(0)} MB/s`;
    const fraction = Math.min(1, total / expected);
    const filled = Math.round(fraction * BAR_WIDTH);
    const bar = '#'.repeat(filled) + '.'.repeat(BAR_WIDTH - filled);
    return `${this.#label} [${bar}] ${(fraction * 100).toFixed(0).padStart(3)}%  ${(total / 1e6).toFixed(1)}/${(expected / 1e6).toFixed(1)} MB  ${rate.toFixed(0)} MB/s`;
  }
}
