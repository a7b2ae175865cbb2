/**
 * npm run bench:gateway — the gateway's reserve path against a bare Express 5 POST route on the same
 * machine and background: first the highest rate the bare route sustains (autocannon, closed loop,
 * 100 connections, 10 s), then an open-loop load at half of it (and at 0.7×) offered to
 * `POST /reserve` of the gateway with 2,000 users' tokens, rate limits off, a shard deciding. Prints the
 * achieved rate, p50/p99 latency, statuses and the gateway's RSS. Needs `npm run infra -- up` and the
 * migrations. Gateway, shard, bare route and load generator all share this machine's cores.
 */
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { signToken } from '../core/auth-token.ts';
import { loadConfig, type Config } from '../core/config.ts';
import { freePort, spawnProcess, type SpawnedProcess } from '../test/support/spawn.ts';

const tag = randomUUID().slice(0, 8);
const config: Config = Object.freeze({
  ...loadConfig({ ...process.env, NODE_ENV: 'production', JWT_SECRET: randomBytes(32).toString('hex') }),
  keyPrefix: `bench${tag}`,
  queuePrefix: `benchq${tag}`,
  logLevel: 'warn' as const,
  rateLimitPerMin: 0,
  rateLimitUserPerMin: 0,
  maxQueuedPerUser: 0,
  queueMaxDepth: 100_000_000,
  reservationTtlMs: 600_000,
});
const USERS = 2_000;

async function run(options: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(options, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
function line(name: string, r: autocannon.Result, extra = ''): void {
  const statuses = Object.entries(r.statusCodeStats ?? {}).map(([code, s]) => `${code}×${(s as { count: number }).count}`).join(' ');
  console.log(`${name.padEnd(40)} ${r.requests.average.toFixed(0).padStart(6)} req/s  p50=${r.latency.p50} ms  p99=${r.latency.p99} ms  errors=${r.errors} timeouts=${r.timeouts}  [${statuses}]${extra}`);
}

let bare: ReturnType<typeof spawn> | undefined;
let gateway: SpawnedProcess | undefined;
let shard: SpawnedProcess | undefined;
try {
  const barePort = await freePort();
  bare = spawn(process.execPath, ['--import', 'tsx', new URL('./bench/bare-express.ts', import.meta.url).pathname], { env: { ...process.env, NODE_ENV: 'production', PORT: String(barePort) }, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => bare!.stdout!.once('data', () => resolve()));
  shard = await spawnProcess('shards/main.ts', config, 'shardPort');
  gateway = await spawnProcess('gateway/main.ts', config, 'port');
  const base = `http://127.0.0.1:${gateway.port}`;

  const admin = signToken(config.jwtSecret, { sub: 'bench-admin', role: 'admin' });
  const post = async (path: string, body: unknown) =>
    (await (await fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })).json()) as { id: string };
  const event = await post('/events', { name: 'bench', date: '2027-01-01T00:00:00Z', max_per_user: 100 });
  await post(`/events/${event.id}/ticket-category`, { name: 'A', total_stock: 10_000_000, price: 1 });
  const body = JSON.stringify({ event_id: event.id, category: 'A', qty: 1 });
  const tokens = Array.from({ length: USERS }, (_, i) => signToken(config.jwtSecret, { sub: `bench-user-${i}`, role: 'user' }));
  let next = 0;

  const bareResult = await run({ url: `http://127.0.0.1:${barePort}/reserve`, method: 'POST', headers: { 'content-type': 'application/json' }, body, connections: 100, duration: 10 });
  line('bare Express 5 POST (closed loop, c=100)', bareResult);
  const ceiling = bareResult.requests.average;

  for (const share of [0.5, 0.7]) {
    const rate = Math.floor(ceiling * share);
    const result = await run({
      url: `${base}/reserve`,
      method: 'POST',
      connections: 200,
      duration: 15,
      overallRate: rate,
      requests: [{ setupRequest: (req) => ({ ...req, body, headers: { ...req.headers, 'content-type': 'application/json', authorization: `Bearer ${tokens[next++ % USERS]}` } }) }],
    });
    line(`gateway POST /reserve at ${share}× (${rate}/s offered)`, result, `  gateway RSS=${rssMb(gateway.child.pid!).toFixed(0)} MB`);
  }
  console.log(`machine: ${(await import('node:os')).cpus().length} cores, Node ${process.version}; load generator, gateway, shard, Redis on the same machine`);
} finally {
  await gateway?.stop();
  await shard?.stop();
  bare?.kill('SIGTERM');
}
