/**
 * What the Node load driver (`npm run loadtest`) and the k6 scripts in `k6/` share: the endpoints they
 * call, the environment variables each k6 script reads, the statuses a ticket war answers normally,
 * the thresholds a run must meet, and the fairness scenario's cohorts. The driver imports this module;
 * test/k6-scripts.test.ts parses each k6 script and checks it against it, so the two cannot drift apart.
 */

export type EndpointName =
  | 'reserve'
  | 'poll'
  | 'confirm'
  | 'availability'
  | 'fairness_report'
  | 'create_event'
  | 'create_category'
  | 'event'
  | 'sale'
  | 'queue'
  | 'ready';

export interface Endpoint {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path template; `{id}` is the one path parameter. */
  readonly path: string;
  /** Query parameters a caller may add. */
  readonly query: readonly string[];
  /** The doc (under docs/) that describes it, as `METHOD path`. */
  readonly doc: string;
}

const endpoint = (method: Endpoint['method'], path: string, doc: string, query: string[] = []): Endpoint => ({ method, path, query, doc });

export const ENDPOINTS: Readonly<Record<EndpointName, Endpoint>> = {
  reserve: endpoint('POST', '/reserve', 'api.md'),
  poll: endpoint('GET', '/reservations/{id}', 'api.md', ['wait', 'status']),
  confirm: endpoint('POST', '/confirm', 'api.md'),
  availability: endpoint('GET', '/events/{id}/availability', 'api.md'),
  fairness_report: endpoint('GET', '/admin/events/{id}/fairness', 'fairness.md'),
  create_event: endpoint('POST', '/events', 'api.md'),
  create_category: endpoint('POST', '/events/{id}/ticket-category', 'api.md'),
  event: endpoint('GET', '/events/{id}', 'api.md'),
  sale: endpoint('PUT', '/admin/events/{id}/sale', 'api.md'),
  queue: endpoint('PUT', '/admin/events/{id}/queue', 'api.md'),
  ready: endpoint('GET', '/ready', 'api.md'),
};

/** The path of an endpoint with its `{id}` filled in (URL-encoded) and an optional query. */
export function endpointPath(name: EndpointName, id?: string, query?: Record<string, string | number>): string {
  const template = ENDPOINTS[name].path;
  if (template.includes('{id}') && id === undefined) throw new Error(`${name} needs an id`);
  const path = id === undefined ? template : template.replace('{id}', encodeURIComponent(id));
  if (!query) return path;
  const unknown = Object.keys(query).filter((k) => !ENDPOINTS[name].query.includes(k));
  if (unknown.length > 0) throw new Error(`${name} takes no query parameter ${unknown.join(', ')}`);
  return `${path}?${new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)])).toString()}`;
}

/** A threshold, in a form the driver evaluates and `toK6Thresholds` renders for k6. */
export type Threshold =
  /** `http_req_duration[{endpoint:E}]: p(P)<MS` */
  | { readonly kind: 'latency'; readonly endpoint?: EndpointName; readonly percentile: number; readonly belowMs: number }
  /** `http_req_failed: rate<R`: responses outside the handled statuses, and network errors. */
  | { readonly kind: 'failed_rate'; readonly below: number }
  /** `METRIC: count==0` for a k6 Counter the script adds to (0 or more) in every iteration. */
  | { readonly kind: 'zero'; readonly metric: 'cap_violations' }
  /** `METRIC{cohort:C}: ['max>=0']`, a threshold that always passes, so k6's summary shows the cohort's sub-metric. */
  | { readonly kind: 'show'; readonly metric: 'http_req_duration' | 'seats_won' | 'time_to_decision'; readonly cohort: string };

export type K6ScriptName = 'reserve.js' | 'ticket-war.js' | 'fairness.js';
export type ScenarioName = 'reserve' | 'ticket-war' | 'fairness';

export interface Cohort {
  readonly name: string;
  /** k6 VUs, and the driver's concurrent clients (each cohort has its own connection pool of this size). */
  readonly vus: number;
  /** Pause before each attempt. */
  readonly thinkMs: number;
}

/** The fairness scenario's cohorts: same users' share of the stock, different speeds. */
export const COHORTS: readonly Cohort[] = [
  { name: 'fast', vus: 40, thinkMs: 0 },
  { name: 'steady', vus: 20, thinkMs: 250 },
  { name: 'slow', vus: 5, thinkMs: 1000 },
];

export interface ScenarioContract {
  readonly script: K6ScriptName;
  /** Every `__ENV.X` the script reads, and no other. */
  readonly env: readonly string[];
  /** The endpoints the script calls (k6 tags each request `endpoint: <name>`). */
  readonly endpoints: readonly EndpointName[];
  /** Statuses that are a normal answer in a ticket war (k6: `http.expectedStatuses(...)`). */
  readonly handledStatuses: readonly number[];
  readonly thresholds: readonly Threshold[];
}

/** The p95 latency every scenario's reserve requests must stay under. */
export const RESERVE_P95_MS = 200;
const reserveP95 = (endpoint?: EndpointName): Threshold => ({ kind: 'latency', endpoint, percentile: 95, belowMs: RESERVE_P95_MS });
const failedBelow1Percent: Threshold = { kind: 'failed_rate', below: 0.01 };

export const SCENARIOS: Readonly<Record<ScenarioName, ScenarioContract>> = {
  reserve: {
    script: 'reserve.js',
    env: ['BASE_URL', 'EVENT_ID', 'CATEGORY', 'USER_TOKEN', 'TOKENS_FILE', 'RATE', 'DURATION', 'PRE_VUS', 'MAX_VUS'],
    endpoints: ['reserve'],
    handledStatuses: [201, 202, 409, 429],
    thresholds: [reserveP95(), failedBelow1Percent],
  },
  'ticket-war': {
    script: 'ticket-war.js',
    env: ['BASE_URL', 'EVENT_ID', 'CATEGORY', 'TOKENS_FILE', 'USERS', 'VUS', 'ATTEMPTS', 'QTY', 'WAIT_S', 'MAX_PER_USER', 'MAX_DURATION', 'ADMIN_TOKEN'],
    endpoints: ['reserve', 'poll', 'confirm', 'availability', 'fairness_report'],
    handledStatuses: [200, 201, 202, 402, 409, 429],
    thresholds: [reserveP95('reserve'), { kind: 'latency', endpoint: 'confirm', percentile: 95, belowMs: RESERVE_P95_MS }, failedBelow1Percent, { kind: 'zero', metric: 'cap_violations' }],
  },
  fairness: {
    script: 'fairness.js',
    env: ['BASE_URL', 'EVENT_ID', 'CATEGORY', 'TOKENS_FILE', 'DURATION', 'QTY', 'WAIT_S', 'VUS_SCALE', 'ADMIN_TOKEN'],
    endpoints: ['reserve', 'poll', 'confirm', 'fairness_report'],
    handledStatuses: [200, 201, 202, 402, 409, 429],
    thresholds: [
      reserveP95('reserve'),
      failedBelow1Percent,
      ...COHORTS.flatMap((c): Threshold[] => (['http_req_duration', 'seats_won', 'time_to_decision'] as const).map((metric) => ({ kind: 'show', metric, cohort: c.name }))),
    ],
  },
};

/** The thresholds as k6 writes them in `options.thresholds`. */
export function toK6Thresholds(thresholds: readonly Threshold[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const add = (key: string, condition: string) => (out[key] ??= []).push(condition);
  for (const t of thresholds) {
    if (t.kind === 'latency') add(t.endpoint ? `http_req_duration{endpoint:${t.endpoint}}` : 'http_req_duration', `p(${t.percentile})<${t.belowMs}`);
    else if (t.kind === 'failed_rate') add('http_req_failed', `rate<${t.below}`);
    else if (t.kind === 'zero') add(t.metric, 'count==0');
    else add(`${t.metric}{cohort:${t.cohort}}`, t.metric === 'seats_won' ? 'count>=0' : 'max>=0');
  }
  return out;
}

/** One threshold's k6 spelling, for the driver's report. */
export const thresholdLabel = (t: Threshold): string => {
  const [key, conditions] = Object.entries(toK6Thresholds([t]))[0]!;
  return `${key} ${conditions.join(', ')}`;
};

/**
 * The driver's options that stand for each k6 environment variable (null: the driver has no such
 * option, and why). test/k6-scripts.test.ts checks each named option exists in the driver.
 */
export const ENV_TO_DRIVER_OPTION: Readonly<Record<string, string | null>> = {
  BASE_URL: 'base-url',
  EVENT_ID: 'event',
  CATEGORY: null, // the driver seeds its own categories and spreads users over them
  USER_TOKEN: null, // the driver mints one token per user
  TOKENS_FILE: 'write-tokens', // the driver writes such a file
  RATE: 'rate',
  DURATION: 'duration',
  PRE_VUS: 'connections',
  MAX_VUS: 'connections',
  USERS: 'users',
  VUS: 'connections',
  ATTEMPTS: 'attempts',
  QTY: 'qty',
  WAIT_S: 'wait',
  MAX_PER_USER: 'max-per-user',
  MAX_DURATION: 'duration',
  ADMIN_TOKEN: null, // the driver mints an admin token with JWT_SECRET
  VUS_SCALE: 'cohort-scale',
};
