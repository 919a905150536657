/** A one-line progress bar on a terminal; plain periodic lines when standard output is not one. */
export class ProgressBar {
  #lastPlain = 0;

  constructor(
    private readonly label: string,
    private readonly enabled: boolean,
  ) {}

  update(done: number, total: number, detail = ''): void {
    if (!this.enabled) return;
    const ratio = total > 0 ? Math.min(1, done / total) : 0;
    if (process.stdout.isTTY) {
      const width = 30;
      const filled = Math.round(ratio * width);
      process.stdout.write(
        `\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.round(ratio * 100)}% ${detail}   `,
      );
    } else if (Date.now() - this.#lastPlain > 2000 || ratio === 1) {
      this.#lastPlain = Date.now();
      process.stdout.write(`${this.label}: ${Math.round(ratio * 100)}% ${detail}\n`);
    }
  }

  finish(): void {
    if (this.enabled && process.stdout.isTTY) process.stdout.write('\n');
  }
}
