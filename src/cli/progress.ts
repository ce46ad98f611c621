/**
 * Progress of a long run on stderr: a redrawn bar on a terminal, plain
 * periodic lines otherwise (logs, CI), so stdout keeps only the summary.
 */
export interface ProgressSnapshot {
  readonly done: number;
  /** Null for runs that go until stopped. */
  readonly total: number | null;
  readonly elapsedS: number;
  readonly bytes: number;
  readonly dropped: number;
}

const BAR_WIDTH = 30;
const PLAIN_LINE_INTERVAL_S = 2;

export class ProgressView {
  private lastPlainAt = -Infinity;
  private lastDrawAt = 0;
  private drawn = false;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly label: string,
  ) {}

  private get interactive(): boolean {
    return this.stream.isTTY === true;
  }

  update(snapshot: ProgressSnapshot): void {
    if (this.interactive) {
      const now = performance.now();
      if (now - this.lastDrawAt < 80) return;
      this.lastDrawAt = now;
      this.stream.write(`\r${this.line(snapshot)}\x1b[K`);
      this.drawn = true;
    } else if (snapshot.elapsedS - this.lastPlainAt >= PLAIN_LINE_INTERVAL_S) {
      this.lastPlainAt = snapshot.elapsedS;
      this.stream.write(`${this.line(snapshot)}\n`);
    }
  }

  /** Leaves the cursor on a fresh line for whatever is printed next. */
  finish(snapshot: ProgressSnapshot): void {
    if (this.interactive) {
      this.stream.write(`\r${this.line(snapshot)}\x1b[K\n`);
    } else if (this.drawn || snapshot.done > 0) {
      this.stream.write(`${this.line(snapshot)}\n`);
    }
  }

  note(text: string): void {
    this.stream.write(this.interactive ? `\r\x1b[K${text}\n` : `${text}\n`);
  }

  private line(s: ProgressSnapshot): string {
    const rate = s.elapsedS > 0 ? s.bytes / 1e6 / s.elapsedS : 0;
    const fps = s.elapsedS > 0 ? s.done / s.elapsedS : 0;
    const counts = s.total === null ? `${s.done} frames` : `${s.done}/${s.total} frames`;
    const stats = `${fps.toFixed(1)} fps  ${rate.toFixed(1)} MB/s  dropped ${s.dropped}  ${s.elapsedS.toFixed(1)} s`;
    if (s.total === null) return `${this.label} ${counts}  ${stats}`;
    const fraction = s.total > 0 ? Math.min(1, s.done / s.total) : 1;
    if (!this.interactive) return `${this.label} ${(fraction * 100).toFixed(0)}%  ${counts}  ${stats}`;
    const filled = Math.round(fraction * BAR_WIDTH);
    return `${this.label} [${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${counts}  ${stats}`;
  }
}
