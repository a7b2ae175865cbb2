import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
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

/**
 * An open-loop load (requests start on a fixed schedule, k / rate seconds after the start, whether or
 * not earlier ones were answered), as k6's constant-arrival-rate and wrk2 do, unlike autocannon's
 * `overallRate` (each connection sends its share of a second back to back at the second's start, then
 * waits: bursts, and a closed loop per connection). Latency is measured from the scheduled start, so a
 * server that falls behind shows it in full (no coordinated omission).
 */
export async function openLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const pool = new Pool(options.origin, { connections: options.connections, pipelining: 1, keepAliveTimeout: 10_000 });
  const latency = new LatencyHistogram();
  const statuses: Record<string, number> = {};
  const inFlight = new Set<Promise<void>>();
  const total = Math.floor(options.ratePerS * options.durationS);
  const intervalMs = 1000 / options.ratePerS;
  const slowMs = options.slowMs ?? 50;
  let slow = 0;
  let failed = 0;
  let maxSendLagMs = 0;
  let lastAnswerAt = 0;
  const send = (i: number, scheduledAt: number) => {
    const { headers, body } = options.request(i);
    const done: Promise<void> = pool
      .request({ origin: options.origin, method: options.method, path: options.path, headers, body })
      .then(async (res) => {
        await res.body.dump();
        lastAnswerAt = performance.now();
        latency.record(lastAnswerAt - scheduledAt);
        if (lastAnswerAt - scheduledAt > slowMs) slow++;
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
      }, () => {
        failed++;
      })
      .finally(() => inFlight.delete(done));
    inFlight.add(done);
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
    const drained = Promise.all(inFlight);
    const timedOut = await Promise.race([drained.then(() => false), sleep(options.drainTimeoutMs ?? 30_000).then(() => true)]);
    if (timedOut) failed += inFlight.size;
    const answered = Object.values(statuses).reduce((a, b) => a + b, 0);
    const spanS = Math.max(options.durationS, (lastAnswerAt - t0) / 1000);
    return {
      offeredPerS: options.ratePerS,
      achievedPerS: answered / spanS,
      sent: total,
      latency: latency.stats(),
      statuses,
      slow,
      failed,
      maxSendLagMs,
    };
  } finally {
    await pool.destroy();
  }
}
