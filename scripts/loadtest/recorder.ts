import * as hdr from 'hdr-histogram-js';
import type { EndpointName, ScenarioName } from './contract.ts';
import { userSub } from './tokens.ts';

/** One HTTP request as the driver saw it. */
export interface RequestRecord {
  readonly scenario: ScenarioName;
  readonly cohort?: string;
  /** The user's index (userSub gives its `sub`); undefined when not known (autocannon's network errors). */
  readonly user?: number;
  readonly endpoint: EndpointName;
  readonly method: string;
  readonly path: string;
  /** 0 when no response came (a network error or a timeout; `error` says which). */
  readonly status: number;
  readonly latencyMs: number;
  /** Epoch milliseconds when the request was sent. */
  readonly startedAt: number;
  readonly reservationId?: string;
  /** The problem+json `code`, or `network:<code>` when no response came. */
  readonly error?: string;
}

/** Where the NDJSON lines go (a file stream; absent without `--ndjson`). */
export interface LineSink {
  write(line: string): unknown;
}

export interface LatencyStats {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

/** Latencies in microseconds, so sub-millisecond answers keep their precision; reported in ms. */
export class LatencyHistogram {
  private readonly histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });

  record(ms: number): void {
    this.histogram.recordValue(Math.min(3_600_000_000, Math.max(1, Math.round(ms * 1000))));
  }

  get count(): number {
    return this.histogram.totalCount;
  }

  /** The value at a percentile (0..100), in ms; 0 when empty. */
  at(percentile: number): number {
    return this.count === 0 ? 0 : this.histogram.getValueAtPercentile(percentile) / 1000;
  }

  stats(): LatencyStats {
    return { count: this.count, p50: this.at(50), p90: this.at(90), p95: this.at(95), p99: this.at(99), max: this.count === 0 ? 0 : this.histogram.maxValue / 1000 };
  }
}

/** The NDJSON line of one request (docs/loadtest.md, "The NDJSON export"). */
export function ndjsonLine(r: RequestRecord): string {
  return `${JSON.stringify({
    scenario: r.scenario,
    cohort: r.cohort ?? null,
    user: r.user === undefined ? null : userSub(r.user),
    method: r.method,
    path: r.path,
    status: r.status,
    latency_ms: Math.round(r.latencyMs * 1000) / 1000,
    started_at: new Date(r.startedAt).toISOString(),
    reservation_id: r.reservationId ?? null,
    error: r.error ?? null,
  })}\n`;
}

/** `201`, `409 out_of_stock`, `0 network:ECONNRESET`: a status with the error code that came with it. */
export const statusKey = (status: number, error?: string): string => (error ? `${status} ${error}` : String(status));

/**
 * Aggregates every request: latency histograms (all, per endpoint, per cohort and endpoint), counts by
 * status and error code, and a per-second count for the progress line. Writes each request to the sink.
 */
export class Recorder {
  private readonly histograms = new Map<string, LatencyHistogram>();
  readonly statuses = new Map<string, number>();
  sent = 0;
  completed = 0;
  networkErrors = 0;
  /** Responses whose status is not in the scenario's handled statuses, plus network errors. */
  failed = 0;

  constructor(
    private readonly handledStatuses: readonly number[],
    private readonly sink?: LineSink,
  ) {}

  /** A request went out (the progress line's `sent`). */
  started(): void {
    this.sent++;
  }

  record(r: RequestRecord): void {
    this.completed++;
    this.histogram('all').record(r.latencyMs);
    this.histogram(r.endpoint).record(r.latencyMs);
    if (r.cohort !== undefined) this.histogram(`${r.cohort}/${r.endpoint}`).record(r.latencyMs);
    const key = statusKey(r.status, r.error);
    this.statuses.set(key, (this.statuses.get(key) ?? 0) + 1);
    if (r.status === 0) this.networkErrors++;
    if (r.status === 0 || !this.handledStatuses.includes(r.status)) this.failed++;
    this.sink?.write(ndjsonLine(r));
  }

  /** `all`, an endpoint name, or `<cohort>/<endpoint>`. */
  histogram(key: string): LatencyHistogram {
    let h = this.histograms.get(key);
    if (!h) this.histograms.set(key, (h = new LatencyHistogram()));
    return h;
  }

  hasHistogram(key: string): boolean {
    return this.histograms.has(key);
  }

  /** Count of responses with this status (whatever their error code). */
  countStatus(status: number): number {
    let n = 0;
    for (const [key, count] of this.statuses) if (key === String(status) || key.startsWith(`${status} `)) n += count;
    return n;
  }

  countError(code: string): number {
    let n = 0;
    for (const [key, count] of this.statuses) if (key.endsWith(` ${code}`)) n += count;
    return n;
  }
}
