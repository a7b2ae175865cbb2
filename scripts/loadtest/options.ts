import { parseArgs, type ParseArgsConfig } from 'node:util';
import { SCENARIOS, type ScenarioName } from './contract.ts';

/** `npm run loadtest -- [options]`: every option, for parseArgs and for the usage text. */
export const LOADTEST_OPTIONS = {
  'base-url': { type: 'string', default: 'http://127.0.0.1:8080', help: 'the gateway to load' },
  scenario: { type: 'string', default: 'ticket-war', help: 'reserve | ticket-war | fairness (k6/<scenario>.js is the same scenario for k6)' },
  requests: { type: 'string', default: '10000', help: 'total HTTP requests the scenario may send (seeding and the report not counted)' },
  duration: { type: 'string', default: '0', help: 'stop starting new work after this many seconds (0: only the request budget stops it)' },
  users: { type: 'string', default: '1000', help: 'distinct users, one token each' },
  rate: { type: 'string', default: '200', help: 'reserve requests started per second (fairness: 0 lets the cohorts go as fast as they can)' },
  connections: { type: 'string', default: '100', help: 'HTTP connections (reserve, ticket-war)' },
  seats: { type: 'string', default: '500', help: 'seats of the seeded event, split over its categories' },
  categories: { type: 'string', default: '1', help: 'categories of the seeded event (A, B, ...); user i buys in category i mod N' },
  'max-per-user': { type: 'string', default: '4', help: "the seeded event's max_per_user" },
  qty: { type: 'string', default: '1', help: 'seats per reserve request' },
  attempts: { type: 'string', default: '0', help: 'reserve attempts per user at most (ticket-war, fairness; 0: no limit but the budget)' },
  wait: { type: 'string', default: '10', help: 'long-poll wait in seconds (GET /reservations/{id}?wait=N&status=queued), 1..30' },
  'prefer-wait': { type: 'boolean', default: false, help: "send 'Prefer: wait=<wait>' with each reserve (ticket-war, fairness)" },
  'cohort-scale': { type: 'string', default: '1', help: "multiplies each fairness cohort's clients (as VUS_SCALE does for k6/fairness.js)" },
  event: { type: 'string', help: 'use this existing event instead of seeding one' },
  'max-depth': { type: 'string', help: "the event's queue depth limit to set (default: the request budget, at least 10000)" },
  'keep-max-depth': { type: 'boolean', default: false, help: "leave the event's queue depth limit as it is" },
  ndjson: { type: 'string', help: 'write every request to this file, one JSON object per line' },
  'write-tokens': { type: 'string', help: 'write --users user tokens to this file, one per line, and exit (for k6 TOKENS_FILE)' },
  'seed-only': { type: 'boolean', default: false, help: 'seed the event, print EVENT_ID=... and CATEGORY=..., and exit (for k6)' },
  'token-ttl': { type: 'string', default: '7200', help: 'lifetime of the minted tokens in seconds' },
  settle: { type: 'string', default: '3', help: 'seconds to wait after the load before fetching the fairness report (the persister catches up)' },
  'skip-report': { type: 'boolean', default: false, help: 'do not fetch the fairness report' },
  help: { type: 'boolean', default: false, help: 'print this help' },
} as const satisfies Record<string, { type: 'string' | 'boolean'; default?: string | boolean; help: string }>;

export interface LoadtestOptions {
  readonly baseUrl: string;
  readonly scenario: ScenarioName;
  readonly requests: number;
  readonly durationS: number;
  readonly users: number;
  readonly rate: number;
  readonly connections: number;
  readonly seats: number;
  readonly categories: number;
  readonly maxPerUser: number;
  readonly qty: number;
  readonly attempts: number;
  readonly waitS: number;
  readonly preferWait: boolean;
  readonly cohortScale: number;
  readonly eventId: string | undefined;
  readonly maxDepth: number | undefined;
  readonly keepMaxDepth: boolean;
  readonly ndjsonPath: string | undefined;
  readonly writeTokensPath: string | undefined;
  readonly seedOnly: boolean;
  readonly tokenTtlS: number;
  readonly settleS: number;
  readonly skipReport: boolean;
}

export type ParsedArgs = { kind: 'run'; options: LoadtestOptions } | { kind: 'help'; text: string } | { kind: 'error'; message: string };

export function usage(): string {
  const lines = Object.entries(LOADTEST_OPTIONS).map(([name, o]) => {
    const flag = o.type === 'string' ? `--${name} X` : `--${name}`;
    const fallback = 'default' in o && o.type === 'string' ? ` (default ${o.default})` : '';
    return `  ${flag.padEnd(22)} ${o.help}${fallback}`;
  });
  return ['usage: npm run loadtest -- [options]   (docs/loadtest.md)', ...lines].join('\n');
}

/** Parses and checks the command line; every bad option is named in one message. */
export function parseLoadtestArgs(argv: readonly string[]): ParsedArgs {
  let values;
  try {
    const spec: ParseArgsConfig['options'] = Object.fromEntries(
      Object.entries(LOADTEST_OPTIONS).map(([name, o]) => [name, 'default' in o ? { type: o.type, default: o.default } : { type: o.type }]),
    );
    ({ values } = parseArgs({ args: [...argv], options: spec, strict: true, allowPositionals: false }));
  } catch (err) {
    return { kind: 'error', message: (err as Error).message };
  }
  const raw = values as Record<string, string | boolean | undefined>;
  if (raw.help) return { kind: 'help', text: usage() };
  const problems: string[] = [];
  const num = (name: string, min: number, max: number, isInteger = true): number => {
    const text = String(raw[name]);
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n) || (isInteger && !Number.isInteger(n)) || n < min || n > max) {
      problems.push(`--${name} must be ${isInteger ? 'an integer' : 'a number'} from ${min} to ${max} (got ${text})`);
      return min;
    }
    return n;
  };
  const optionalNum = (name: string, min: number, max: number) => (raw[name] === undefined ? undefined : num(name, min, max));
  const text = (name: string) => (typeof raw[name] === 'string' ? (raw[name] as string) : undefined);

  const scenario = String(raw.scenario);
  if (!(scenario in SCENARIOS)) problems.push(`--scenario must be one of ${Object.keys(SCENARIOS).join(', ')} (got ${scenario})`);
  const baseUrl = String(raw['base-url']).replace(/\/+$/, '');
  try {
    if (!['http:', 'https:'].includes(new URL(baseUrl).protocol)) problems.push('--base-url must be an http(s) URL');
  } catch {
    problems.push(`--base-url must be a URL (got ${baseUrl})`);
  }
  const options: LoadtestOptions = {
    baseUrl,
    scenario: scenario as ScenarioName,
    requests: num('requests', 1, 100_000_000),
    durationS: num('duration', 0, 86_400, false),
    users: num('users', 1, 10_000_000),
    rate: num('rate', scenario === 'fairness' ? 0 : 1, 1_000_000, false),
    connections: num('connections', 1, 10_000),
    seats: num('seats', 1, 10_000_000),
    categories: num('categories', 1, 26),
    maxPerUser: num('max-per-user', 1, 100),
    qty: num('qty', 1, 100),
    attempts: num('attempts', 0, 1_000_000),
    waitS: num('wait', 1, 30),
    preferWait: raw['prefer-wait'] === true,
    cohortScale: num('cohort-scale', 0.01, 1000, false),
    eventId: text('event'),
    maxDepth: optionalNum('max-depth', 1, 100_000_000),
    keepMaxDepth: raw['keep-max-depth'] === true,
    ndjsonPath: text('ndjson'),
    writeTokensPath: text('write-tokens'),
    seedOnly: raw['seed-only'] === true,
    tokenTtlS: num('token-ttl', 60, 30 * 86_400),
    settleS: num('settle', 0, 600, false),
    skipReport: raw['skip-report'] === true,
  };
  if (options.seats < options.categories) problems.push('--seats must be at least --categories (every category needs a seat)');
  if (options.qty > options.maxPerUser && options.eventId === undefined) problems.push('--qty must not exceed --max-per-user');
  if (options.maxDepth !== undefined && options.keepMaxDepth) problems.push('--max-depth and --keep-max-depth contradict each other');
  if (problems.length > 0) return { kind: 'error', message: problems.join('\n') };
  return { kind: 'run', options };
}

/** The queue depth limit to set on the event: as many requests as the run may have queued at once. */
export const queueDepthFor = (options: LoadtestOptions): number | undefined =>
  options.keepMaxDepth ? undefined : (options.maxDepth ?? Math.max(options.requests, 10_000));
