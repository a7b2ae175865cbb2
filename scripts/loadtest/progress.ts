import type { Recorder } from './recorder.ts';

export interface ProgressSnapshot {
  readonly elapsedMs: number;
  readonly sent: number;
  readonly completed: number;
  /** Responses in the last interval, per second. */
  readonly ratePerS: number;
  readonly statuses: ReadonlyMap<string, number>;
}

/** `[  12s] sent 15000  done 14980  1498/s  202:9000 409 out_of_stock:5980`: the 5 most frequent statuses. */
export function progressLine(p: ProgressSnapshot): string {
  const top = [...p.statuses].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([key, n]) => `${key}:${n}`).join(' ');
  return `[${String(Math.round(p.elapsedMs / 1000)).padStart(4)}s] sent ${p.sent}  done ${p.completed}  ${Math.round(p.ratePerS)}/s  ${top}`;
}

/**
 * The progress line on stderr, about once a second: rewritten in place (`\r`) on a terminal; when
 * stderr is a file or a pipe, one line every 10 s instead.
 */
export class Progress {
  private timer: NodeJS.Timeout | undefined;
  private lastCompleted = 0;
  private lastAt = 0;
  private ticks = 0;

  constructor(
    private readonly recorder: Recorder,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  start(): void {
    const t0 = Date.now();
    this.lastAt = t0;
    this.timer = setInterval(() => {
      const now = Date.now();
      const line = progressLine({
        elapsedMs: now - t0,
        sent: this.recorder.sent,
        completed: this.recorder.completed,
        ratePerS: ((this.recorder.completed - this.lastCompleted) * 1000) / Math.max(1, now - this.lastAt),
        statuses: this.recorder.statuses,
      });
      this.lastCompleted = this.recorder.completed;
      this.lastAt = now;
      if (this.stream.isTTY) this.stream.write(`\r${line}\x1b[K`);
      else if (++this.ticks % 10 === 0) this.stream.write(`${line}\n`);
    }, 1000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    if (this.stream.isTTY && this.lastCompleted > 0) this.stream.write('\n');
  }
}
