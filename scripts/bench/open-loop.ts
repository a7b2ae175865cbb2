import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool, type Dispatcher } from 'undici';
import { LatencyHistogram, type LatencyStats } from '../loadtest/recorder.ts';
import { startsDue } from '../loadtest/pacing.ts';

export interface OpenLoopOptions {
  /** `http://host:port` */
  readonly origin: string;
  readonly method: 'GET' | 'POST';
  readonly path: string;
  /** Requests started per second, evenly spaced whatever the answers do. */
  readonly ratePerS: number;
  readonly durationS: number;
  /** Most requests in flight at once (the pool's connections); more due wait for one, their wait counted. */
  readonly connections: number;
  /** The i-th request's headers and body. */
  readonly request: (i: number) => { headers: Record<string, string>; body?: string };
  /** How long to wait for the answers still due at the end. */
  readonly drainTimeoutMs?: number;
  /** Answers later than this (ms from their scheduled start) are counted in `slow` (50: bench:gateway's target). */
  readonly slowMs?: number;
}

export interface OpenLoopResult {
  readonly offeredPerS: number;
  /** Answers per second over the sending time. */
  readonly achievedPerS: number;
  readonly sent: number;
  /** From each request's scheduled start, not its actual send: a slow server or a late sender is counted. */
  readonly latency: LatencyStats;
  readonly statuses: Record<string, number>;
  /** Answers later than `slowMs`. */
  readonly slow: number;
  /** Requests that got no answer (network errors, or none by the end of the drain). */
  readonly failed: number;
  /** The sender's largest lag behind schedule (ms): large means the load generator, not the server, fell behind. */
  readonly maxSendLagMs: number;
}

/** How often the sender looks at the clock. */
const TICK_MS = 1;

/** What the load counts as its answers come (one per run). */
interface Tally {
  readonly latency: LatencyHistogram;
  readonly statuses: Record<string, number>;
  readonly slowMs: number;
  slow: number;
  failed: number;
  lastAnswerAt: number;
  inFlight: number;
  /** Called when the last request in flight ends (set while the run waits for its answers). */
  onIdle: (() => void) | undefined;
}

/**
 * One request's handler on undici's dispatcher API: the answer's status and its end, nothing else (the
 * body is read and dropped). The load generator shares the machine's cores with what it measures, so it
 * does as little as it can per request: no response object, body stream or promise per request, as
 * `pool.request` makes. With `pool.request` the generator took ~69–80 µs of CPU per request at 6,300/s,
 * with this ~45–62 (docs/performance.md, twelfth session).
 */
class Answer implements Dispatcher.DispatchHandlers {
  #status = 0;
  #ended = false;
  readonly #tally: Tally;
  readonly #scheduledAt: number;

  constructor(tally: Tally, scheduledAt: number) {
    this.#tally = tally;
    this.#scheduledAt = scheduledAt;
  }

  onConnect(): void {}

  onHeaders(statusCode: number): boolean {
    this.#status = statusCode;
    return true;
  }

  onData(): boolean {
    return true;
  }

  onComplete(): void {
    const tally = this.#tally;
    tally.lastAnswerAt = performance.now();
    const ms = tally.lastAnswerAt - this.#scheduledAt;
    tally.latency.record(ms);
    if (ms > tally.slowMs) tally.slow++;
    tally.statuses[this.#status] = (tally.statuses[this.#status] ?? 0) + 1;
    this.#end();
  }

  onError(): void {
    this.#tally.failed++;
    this.#end();
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (--this.#tally.inFlight === 0) this.#tally.onIdle?.();
  }
}

/**
 * An open-loop load (requests start on a fixed schedule, k / rate seconds after the start, whether or
 * not earlier ones were answered), as k6's constant-arrival-rate and wrk2 do, unlike autocannon's
 * `overallRate` (each connection sends its share of a second back to back at the second's start, then
 * waits: bursts, and a closed loop per connection). Latency is measured from the scheduled start, so a
 * server that falls behind shows it in full (no coordinated omission).
 */
export async function openLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const pool = new Pool(options.origin, { connections: options.connections, pipelining: 1, keepAliveTimeout: 10_000 });
  const tally: Tally = {
    latency: new LatencyHistogram(), statuses: {}, slowMs: options.slowMs ?? 50, slow: 0, failed: 0, lastAnswerAt: 0, inFlight: 0, onIdle: undefined,
  };
  const total = Math.floor(options.ratePerS * options.durationS);
  const intervalMs = 1000 / options.ratePerS;
  let maxSendLagMs = 0;
  const send = (i: number, scheduledAt: number) => {
    const { headers, body } = options.request(i);
    tally.inFlight++;
    pool.dispatch({ origin: options.origin, method: options.method, path: options.path, headers, body }, new Answer(tally, scheduledAt));
  };
  const t0 = performance.now();
  try {
    let sent = 0;
    while (sent < total) {
      const now = performance.now();
      const due = Math.min(total, startsDue(now - t0, options.ratePerS));
      for (; sent < due; sent++) {
        const scheduledAt = t0 + sent * intervalMs;
        maxSendLagMs = Math.max(maxSendLagMs, now - scheduledAt);
        send(sent, scheduledAt);
      }
      await sleep(TICK_MS);
    }
    // The answers still due, until the drain timeout: those still in flight then count as failed.
    let drainTimer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      if (tally.inFlight === 0) return resolve();
      tally.onIdle = resolve;
      drainTimer = setTimeout(resolve, options.drainTimeoutMs ?? 30_000);
    });
    clearTimeout(drainTimer);
    tally.failed += tally.inFlight;
    const answered = Object.values(tally.statuses).reduce((a, b) => a + b, 0);
    const spanS = Math.max(options.durationS, (tally.lastAnswerAt - t0) / 1000);
    return {
      offeredPerS: options.ratePerS,
      achievedPerS: answered / spanS,
      sent: total,
      latency: tally.latency.stats(),
      statuses: tally.statuses,
      slow: tally.slow,
      failed: tally.failed,
      maxSendLagMs,
    };
  } finally {
    await pool.destroy();
  }
}
