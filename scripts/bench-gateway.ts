/**
 * npm run bench:gateway — the gateway's reserve path against a bare Express 5 POST route on the same
 * machine and background.
 *   1. The bare route's ceiling: the highest rate a bare Express 5 POST route with express.json()
 *      sustains here (autocannon, closed loop, 100 connections, 10 s).
 *   2. The control: the same bare route offered the open-loop load (scripts/bench/open-loop.ts:
 *      requests start evenly spaced whatever the answers do; latency counted from each request's
 *      scheduled start) at 0.5× and 0.7× of the ceiling: what this machine and load generator give a
 *      route that does nothing, at the rates the gateway is offered.
 *   3. The gateway as production runs it (its bundle, `npm run build`, on plain node), `POST /reserve`
 *      with 2,000 users' tokens, offered the same open-loop load at 0.5× and 0.7× of the ceiling, after
 *      a warm-up at 0.25×. The ceiling is measured again just before each configuration, and its rates
 *      come from that one: this machine's speed moves within minutes. It is measured once more after
 *      the configuration, to show how far the machine moved meanwhile. Printed: achieved rate,
 *      p50/p99/max, statuses, the gateway's CPU per request (all its threads, and its main thread
 *      alone), the load generator's, the gateway's largest RSS, and its collections and largest
 *      event-loop delay during the line.
 *   Three configurations: the gateway alone with rate limits off (admitting into the event's queue, no
 *   shard deciding: what the gateway itself sustains), the same with both rate limits on and raised out
 *   of reach (each request then also counts in Redis per IP and per user), then rate limits off with a
 *   shard deciding and relaying to Kafka on the same two cores. Each configuration's Redis keys and
 *   Kafka topics are its own and deleted after it, so no run pays for an earlier one's data (Redis's
 *   AOF rewrites copy all of it), and Redis's AOF is compacted before each gateway line, so no line
 *   meets an automatic rewrite left due by earlier runs. Each line says how often Redis rewrote its AOF during it all the same (a
 *   rewrite forks Redis, and the child takes one of the two cores for ~0.5 s: docs/operations.md,
 *   auto-aof-rewrite-min-size; what one costs is measured in docs/performance.md).
 * Needs `npm run infra -- up` and `npm run migrate`. Load generator, gateway, shard, Redis and Kafka all
 * share this machine's cores. Options: --duration S (15), --only alone|rate-limits|with-shard.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { signToken } from '../core/auth-token.ts';
import { loadConfig, type Config } from '../core/config.ts';
import { projectPath } from '../core/paths.ts';
import { deleteTestKeys, deleteTestTopics } from '../test/support/env.ts';
import { freePort, spawnProcess, type SpawnedProcess } from '../test/support/spawn.ts';
import { openLoop, type OpenLoopResult } from './bench/open-loop.ts';

const { values: args } = parseArgs({
  options: { duration: { type: 'string', default: '15' }, only: { type: 'string' } },
});
const DURATION_S = Number(args.duration);
const USERS = 2_000;
const SHARES = [0.5, 0.7];
/** The open-loop load's most requests in flight at once (its pool's connections). */
const CONNECTIONS = 500;

/** Rate limits "raised": on, counting every request in Redis, and far above what the bench sends. */
const RAISED_LIMIT_PER_MIN = 100_000_000;
const baseConfig = loadConfig({ ...process.env, NODE_ENV: 'production', JWT_SECRET: randomBytes(32).toString('hex') });
/** One configuration's settings, with key and queue prefixes and Kafka topics of its own (deleted after it). */
const configFor = (rateLimitPerMin: number): Config => {
  const tag = randomUUID().slice(0, 8);
  return Object.freeze({
    ...baseConfig,
    keyPrefix: `bench${tag}`,
    queuePrefix: `benchq${tag}`,
    // Topics of its own: the shard's relay would otherwise publish the bench's reservations into the
    // stack's topic, and a running persister would write them all into PostgreSQL.
    reservationsTopic: `bench.reservations.${tag}`,
    deadLetterTopic: `bench.dlq.${tag}`,
    logLevel: 'warn' as const,
    rateLimitPerMin,
    rateLimitUserPerMin: rateLimitPerMin,
    maxQueuedPerUser: 0,
    queueMaxDepth: 100_000_000,
    reservationTtlMs: 600_000,
  });
};

/** Redis's AOF rewrites so far: each forks Redis and copies its dataset, on the same cores (docs/operations.md). */
const redis = new Redis(baseConfig.redisUrl, { lazyConnect: true });
const aofRewrites = async () => Number(/aof_rewrites:(\d+)/.exec(await redis.info('persistence'))?.[1] ?? 0);
/**
 * Compacts Redis's AOF (BGREWRITEAOF) and waits for the rewrite to end, so a measured line starts with
 * its next automatic rewrite ~auto-aof-rewrite-min-size of writes away, whatever earlier runs wrote:
 * otherwise a line meets a rewrite by chance, and its child takes one of the two cores for ~0.5 s
 * (docs/performance.md). Does nothing when Redis runs without AOF.
 */
async function compactAof(): Promise<void> {
  const persistence = async () => await redis.info('persistence');
  if (!/aof_enabled:1/.test(await persistence())) return;
  await redis.bgrewriteaof().catch((err: Error) => {
    if (!/already in progress/.test(err.message)) throw err;
  });
  const deadline = Date.now() + 120_000;
  while (/aof_rewrite_in_progress:1|aof_rewrite_scheduled:1/.test(await persistence())) {
    if (Date.now() > deadline) throw new Error('Redis did not finish its AOF rewrite within 120 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const status = (pid: number) => readFileSync(`/proc/${pid}/status`, 'utf8');
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(status(pid))?.[1] ?? 0) / 1024;
/** User plus system CPU time so far, in ms: of a process (all its threads), or of one thread (`/proc/P/task/T`). */
const cpuMs = (pid: number, thread?: number) => {
  const fields = readFileSync(thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
};
/**
 * What a gateway saw so far, from its `/metrics`: its collections (full and young) and their seconds,
 * its largest event-loop delay since the last scrape (prom-client's default metrics), and its own
 * timing of `POST /reserve` (from Express receiving a request to the response's end): how many, and
 * how many over 50 ms. Set against the client's latency, that tells a wait inside the gateway (Redis
 * included) from one outside it (the kernel's queues, the load generator).
 */
interface GatewayView {
  readonly major: number; readonly majorS: number; readonly minor: number; readonly minorS: number; readonly loopLagMaxS: number;
  readonly reserves: number; readonly reservesOver50ms: number;
}
async function gatewayView(origin: string): Promise<GatewayView> {
  const lines = (await (await fetch(`${origin}/metrics`)).text()).split('\n');
  const metric = (name: string, kind?: string) => {
    const line = lines.find((l) => l.startsWith(kind ? `${name}{kind="${kind}"} ` : `${name} `));
    return Number(line?.split(' ').at(-1) ?? 0);
  };
  /** Sum over the reserve route's series (one per status code) of a histogram's line. */
  const reserveSum = (prefix: string, le?: string) => lines
    .filter((l) => l.startsWith(prefix) && l.includes('route="/reserve"') && (le === undefined || l.includes(`le="${le}"`)))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
  const reserves = reserveSum('wt_http_request_duration_seconds_count{');
  return {
    major: metric('nodejs_gc_duration_seconds_count', 'major'),
    majorS: metric('nodejs_gc_duration_seconds_sum', 'major'),
    minor: metric('nodejs_gc_duration_seconds_count', 'minor'),
    minorS: metric('nodejs_gc_duration_seconds_sum', 'minor'),
    // prom-client resets its event-loop delay histogram at each scrape: this is the largest since the last.
    loopLagMaxS: metric('nodejs_eventloop_lag_max_seconds'),
    reserves,
    reservesOver50ms: reserves - reserveSum('wt_http_request_duration_seconds_bucket{', '0.05'),
  };
}
type Measured<T> = { result: T; cpu: number; mainCpu: number; generatorCpu: number; peak: number; rewrites: number; gateway?: GatewayView };
/**
 * While `run` runs: a process's CPU (all threads, main thread), its peak RSS, this process's CPU (the
 * load generator's, on the same cores), and Redis's AOF rewrites;
 * given the gateway's origin, also what the gateway saw meanwhile (`GatewayView`).
 */
async function measured<T>(pid: number, run: () => Promise<T>, origin?: string): Promise<Measured<T>> {
  let peak = rssMb(pid);
  const sampler = setInterval(() => { peak = Math.max(peak, rssMb(pid)); }, 250);
  const view0 = origin ? await gatewayView(origin) : undefined;
  const cpu0 = cpuMs(pid);
  const main0 = cpuMs(pid, pid);
  const generator0 = process.cpuUsage();
  const rewrites0 = await aofRewrites();
  try {
    const result = await run();
    const cpu = cpuMs(pid) - cpu0;
    const mainCpu = cpuMs(pid, pid) - main0;
    const generator = process.cpuUsage(generator0);
    const generatorCpu = (generator.user + generator.system) / 1000;
    const view1 = origin ? await gatewayView(origin) : undefined;
    const gateway = view0 && view1 ? {
      major: view1.major - view0.major, majorS: view1.majorS - view0.majorS, minor: view1.minor - view0.minor, minorS: view1.minorS - view0.minorS,
      loopLagMaxS: view1.loopLagMaxS, reserves: view1.reserves - view0.reserves, reservesOver50ms: view1.reservesOver50ms - view0.reservesOver50ms,
    } : undefined;
    return { result, cpu, mainCpu, generatorCpu, peak: Math.max(peak, rssMb(pid)), rewrites: (await aofRewrites()) - rewrites0, gateway };
  } finally {
    clearInterval(sampler);
  }
}

async function closedLoop(options: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(options, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

function report(name: string, m: Measured<OpenLoopResult>, server = 'gateway'): void {
  const r = m.result;
  const statuses = Object.entries(r.statuses).map(([code, n]) => `${code}×${n}`).join(' ');
  const ms = (v: number) => v.toFixed(1);
  const perReq = (cpu: number) => ((cpu * 1000) / r.sent).toFixed(0);
  console.log(
    `${name.padEnd(52)} ${r.achievedPerS.toFixed(0).padStart(5)} req/s  p50=${ms(r.latency.p50)} ms  p99=${ms(r.latency.p99)} ms  max=${ms(r.latency.max)} ms` +
      `  failed=${r.failed} [${statuses}]  ${server} CPU=${perReq(m.cpu)} µs/req (main thread ${perReq(m.mainCpu)}), load generator ${perReq(m.generatorCpu)} µs/req  peak RSS=${m.peak.toFixed(0)} MB` +
      (m.gateway ? `  GC: ${m.gateway.major} full (${(m.gateway.majorS * 1000).toFixed(0)} ms), ${m.gateway.minor} young (${(m.gateway.minorS * 1000).toFixed(0)} ms), event-loop delay max ${(m.gateway.loopLagMaxS * 1000).toFixed(0)} ms` +
        `  over 50 ms: ${((100 * r.slow) / Math.max(1, r.sent)).toFixed(2)} % at the client, ${((100 * m.gateway.reservesOver50ms) / Math.max(1, m.gateway.reserves)).toFixed(2)} % in the gateway` : '') +
      (m.rewrites > 0 ? `  (Redis rewrote its AOF ${m.rewrites}× meanwhile)` : '') +
      (r.maxSendLagMs > 20 ? `  (load generator lagged up to ${r.maxSendLagMs.toFixed(0)} ms)` : ''),
  );
}

/** One configuration: a fresh gateway (and shard), its event, a warm-up, then each share of the ceiling. */
async function runGateway(label: string, ceiling: number, config: Config, withShard: boolean): Promise<void> {
  let gateway: SpawnedProcess | undefined;
  let shard: SpawnedProcess | undefined;
  try {
    if (withShard) shard = await spawnProcess('shards/main.ts', config, 'shardPort', { built: true });
    gateway = await spawnProcess('gateway/main.ts', config, 'port', { built: true });
    const origin = `http://127.0.0.1:${gateway.port}`;
    const admin = signToken(config.jwtSecret, { sub: 'bench-admin', role: 'admin' });
    const post = async (path: string, body: unknown) =>
      (await (await fetch(`${origin}${path}`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })).json()) as { id: string };
    const event = await post('/events', { name: `bench ${label}`, date: '2027-01-01T00:00:00Z', max_per_user: 100 });
    await post(`/events/${event.id}/ticket-category`, { name: 'A', total_stock: 10_000_000, price: 1 });
    const body = JSON.stringify({ event_id: event.id, category: 'A', qty: 1 });
    // Each user's headers built once: the load generator does as little as it can per request.
    const headers = Array.from({ length: USERS }, (_, i) => ({
      'content-type': 'application/json', authorization: `Bearer ${signToken(config.jwtSecret, { sub: `bench-user-${i}`, role: 'user' })}`,
    }));
    const pid = gateway.child.pid!;

    const offer = (ratePerS: number, durationS: number) => measured(pid, () => openLoop({
      origin, method: 'POST', path: '/reserve', ratePerS, durationS, connections: CONNECTIONS,
      request: (i) => ({ body, headers: headers[i % USERS]! }),
    }), origin);
    // JIT warm-up and the first sight of every token (a production gateway has both long before a sale).
    await offer(Math.floor(ceiling * 0.25), 5);
    for (const share of SHARES) {
      const rate = Math.floor(ceiling * share);
      await compactAof();
      report(`${label} at ${share}× (${rate}/s offered)`, await offer(rate, DURATION_S));
    }
  } finally {
    await gateway?.stop();
    await shard?.stop();
    await deleteTestKeys(config);
    await deleteTestTopics(config);
  }
}

let bare: ReturnType<typeof spawn> | undefined;
try {
  execFileSync(process.execPath, ['--import', 'tsx', projectPath('scripts', 'build.ts')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const barePort = await freePort();
  bare = spawn(process.execPath, ['--import', 'tsx', projectPath('scripts', 'bench', 'bare-express.ts')], { env: { ...process.env, NODE_ENV: 'production', PORT: String(barePort) }, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => bare!.stdout!.once('data', () => resolve()));
  const body = JSON.stringify({ event_id: randomUUID(), category: 'A', qty: 1 });
  /** The bare route's ceiling now (autocannon, closed loop, 100 connections, 10 s). */
  const measureCeiling = async (name: string): Promise<number> => {
    const bareResult = await closedLoop({ url: `http://127.0.0.1:${barePort}/reserve`, method: 'POST', headers: { 'content-type': 'application/json' }, body, connections: 100, duration: 10 });
    const ceiling = bareResult.requests.average;
    console.log(`${name.padEnd(52)} ${ceiling.toFixed(0).padStart(5)} req/s  p50=${bareResult.latency.p50} ms  p99=${bareResult.latency.p99} ms  errors=${bareResult.errors}`);
    return ceiling;
  };
  const ceiling = await measureCeiling('bare Express 5 POST (closed loop, c=100)');
  // The control: the bare route under the open-loop load the gateway gets, at the same rates (its
  // headers as large as the gateway's: a bearer token of the same length).
  const bareHeaders = { 'content-type': 'application/json', authorization: `Bearer ${signToken(baseConfig.jwtSecret, { sub: 'bench-user-0', role: 'user' })}` };
  for (const share of SHARES) {
    const rate = Math.floor(ceiling * share);
    const run = () => openLoop({
      origin: `http://127.0.0.1:${barePort}`, method: 'POST', path: '/reserve', ratePerS: rate, durationS: DURATION_S, connections: CONNECTIONS,
      request: () => ({ body, headers: bareHeaders }),
    });
    await run(); // warm-up at the same rate: the bare route has no other
    report(`bare route, open loop, at ${share}× (${rate}/s offered)`, await measured(bare.pid!, run), 'bare route');
  }

  // Each configuration's rates from the ceiling measured just before it: this machine's speed moves by up
  // to 40 % within minutes (docs/performance.md, twelfth session), and a full run takes ~5.
  const configurations: [name: string, label: string, config: () => Config, withShard: boolean][] = [
    ['alone', 'gateway alone', () => configFor(0), false],
    ['rate-limits', 'gateway alone, rate limits on', () => configFor(RAISED_LIMIT_PER_MIN), false],
    ['with-shard', 'gateway + shard deciding', () => configFor(0), true],
  ];
  // And again after it: how far the machine moved while its lines ran (a line whose ceiling moved much
  // was offered a different share of what the machine could do at that moment).
  for (const [name, label, config, withShard] of configurations) {
    if (args.only && args.only !== name) continue;
    const before = await measureCeiling(`  the same, again before "${label}"`);
    await runGateway(label, before, config(), withShard);
    const after = await measureCeiling(`  the same, again after "${label}"`);
    console.log(`  the ceiling moved by ${Math.round(((after - before) / before) * 100)} % while "${label}" ran`);
  }
  bare.kill('SIGTERM');
  bare = undefined;
  const aof = await redis.config('GET', 'auto-aof-rewrite-min-size') as string[];
  console.log(`machine: ${cpus().length} cores, Node ${process.version}; load generator, gateway, shard, Redis and Kafka on the same machine; Redis auto-aof-rewrite-min-size=${aof[1]}, its AOF compacted before each gateway line`);
} finally {
  bare?.kill('SIGTERM');
  redis.disconnect();
}
