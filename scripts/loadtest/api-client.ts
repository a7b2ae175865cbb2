import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import type { EndpointName, ScenarioName } from './contract.ts';
import { ENDPOINTS } from './contract.ts';
import type { RequestBudget } from './pacing.ts';
import type { Recorder } from './recorder.ts';

export interface ApiResponse {
  /** 0 when no response came. */
  readonly status: number;
  /** The parsed JSON body (undefined when none or not JSON). */
  readonly body: Record<string, unknown> | undefined;
  /** The problem+json `code`, or `network:<code>`. */
  readonly error: string | undefined;
}

export interface ApiRequest {
  readonly endpoint: EndpointName;
  readonly path: string;
  readonly token: string;
  readonly user: number;
  readonly cohort?: string;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  /** The reservation this request is about, when known before the answer. */
  readonly reservationId?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The scenario's HTTP client for per-user flows: an undici Pool to the gateway, every request taken
 * from the run's budget, timed, and recorded. What a buyer waits on (a long-poll, up to its wait; a
 * confirm, through its payment) goes through a pool of its own (`waitPool`, up to a connection per
 * user, as each buyer's browser has its own), so it never queues the reserves behind it.
 */
export class ApiClient {
  constructor(
    private readonly pool: Pool,
    private readonly waitPool: Pool,
    private readonly scenario: ScenarioName,
    private readonly recorder: Recorder,
    private readonly budget: RequestBudget,
    /** Longest a request may take (a long-poll's wait plus a margin). */
    private readonly timeoutMs: number,
  ) {}

  static pool(baseUrl: string, connections: number): Pool {
    return new Pool(baseUrl, { connections, pipelining: 1, keepAliveTimeout: 4_000 });
  }

  /** Sends the request unless the budget is spent (then undefined: nothing was sent). */
  async send(req: ApiRequest): Promise<ApiResponse | undefined> {
    if (!this.budget.take()) return undefined;
    const method = ENDPOINTS[req.endpoint].method;
    const headers: Record<string, string> = { authorization: `Bearer ${req.token}`, ...req.headers };
    if (req.body !== undefined) headers['content-type'] = 'application/json';
    const startedAt = Date.now();
    const t0 = performance.now();
    this.recorder.started();
    let response: ApiResponse;
    try {
      const res = await (req.endpoint === 'poll' || req.endpoint === 'confirm' ? this.waitPool : this.pool).request({
        method,
        path: req.path,
        headers,
        body: req.body === undefined ? undefined : JSON.stringify(req.body),
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
      const text = await res.body.text();
      let body: Record<string, unknown> | undefined;
      try {
        const parsed: unknown = text ? JSON.parse(text) : undefined;
        body = isObject(parsed) ? parsed : undefined;
      } catch {
        body = undefined;
      }
      const error = res.statusCode >= 400 && typeof body?.code === 'string' ? body.code : undefined;
      response = { status: res.statusCode, body, error };
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      response = { status: 0, body: undefined, error: `network:${typeof code === 'string' ? code : (err as Error).name}` };
    }
    const reservationId = req.reservationId ?? (typeof response.body?.reservation_id === 'string' ? response.body.reservation_id : undefined);
    this.recorder.record({
      scenario: this.scenario,
      cohort: req.cohort,
      user: req.user,
      endpoint: req.endpoint,
      method,
      path: req.path,
      status: response.status,
      latencyMs: performance.now() - t0,
      startedAt,
      reservationId,
      error: response.error,
    });
    return response;
  }
}
