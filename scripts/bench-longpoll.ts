/**
 * npm run bench:longpoll  — the wake-up delay of long-polls: from the decision (its `updated_at`, Redis
 * TIME) to the moment the waiting client has the answer. The gateway runs as its own process; the
 * decisions are made by the decision script itself, right after the long-polls are waiting.
 *   1. one waiter at a time, 200 times (the delay with nothing else going on);
 *   2. a burst: 1,000 waiters, then 1,000 decisions as fast as one client can make them.
 * Needs the servers of `npm run infra -- up` and the migrations (`npm run migrate`).
 */
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'undici';
import { signToken } from '../core/auth-token.ts';
import { loadConfig, type Config } from '../core/config.ts';
import { newReservationId } from '../core/keys.ts';
import { createLogger } from '../core/logger.ts';
import { createRedis } from '../core/redis.ts';
import { ReservationStore } from '../core/reservation-store.ts';
import { spawnProcess } from '../test/support/spawn.ts';

const base = loadConfig();
const tag = randomUUID().slice(0, 8);
const config: Config = Object.freeze({ ...base, keyPrefix: `bench${tag}`, queuePrefix: `benchq${tag}`, logLevel: 'warn' as const });
const logger = createLogger('bench', 'warn');
const redis = createRedis(config.redisUrl, logger);
const store = new ReservationStore(redis, { keyPrefix: config.keyPrefix, holdTtlMs: 300_000, retentionMs: 600_000 });
const gateway = await spawnProcess('gateway/main.ts', config, 'port');
const agent = new Agent({ connections: null, headersTimeout: 60_000, bodyTimeout: 60_000 });
const url = `http://127.0.0.1:${gateway.port}`;
const admin = signToken(config.jwtSecret, { sub: 'bench-admin', role: 'admin' });

async function call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await request(`${url}${path}`, {
    method,
    dispatcher: agent,
    headers: { authorization: `Bearer ${admin}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
}

const waiting = async () => Number(/^wt_gateway_long_polls_waiting (\d+)$/m.exec(await (await request(`${url}/metrics`, { dispatcher: agent })).body.text())?.[1]);
async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 2));
}
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
function report(name: string, delays: number[]): void {
  const s = [...delays].sort((a, b) => a - b);
  console.log(`${name.padEnd(44)} n=${s.length}  p50=${percentile(s, 50)} ms  p95=${percentile(s, 95)} ms  p99=${percentile(s, 99)} ms  max=${s.at(-1)} ms`);
}

try {
  const event = (await call('POST', '/events', { name: 'bench', date: '2027-01-01T00:00:00Z', max_per_user: 4 })).json;
  const eventId = String(event.id);
  const category = (await call('POST', `/events/${eventId}/ticket-category`, { name: 'A', total_stock: 100_000, price: 1 })).json;
  const categoryId = String(category.id);

  const admit = async (i: number) => {
    const id = newReservationId(eventId, randomUUID());
    await store.admit({ reservationId: id, userId: `bench-${i}`, eventId, categoryId, categoryName: 'A', qty: 1 });
    return id;
  };
  /** Starts a long-poll; resolves with the delay from the decision to the answer. */
  const poll = async (id: string) => {
    const res = await call('GET', `/reservations/${id}?wait=30`);
    const receivedAt = Date.now();
    if (res.json.status === 'queued') throw new Error('a long-poll timed out');
    return receivedAt - Date.parse(String(res.json.updated_at));
  };

  const single: number[] = [];
  for (let i = 0; i < 200; i++) {
    const id = await admit(i);
    const answer = poll(id);
    await until(async () => (await waiting()) === 1);
    await store.decide(eventId, id, categoryId);
    single.push(await answer);
  }
  report('one waiter, decided (200 runs)', single);

  const ids = await Promise.all(Array.from({ length: 1_000 }, (_, i) => admit(1_000 + i)));
  const answers = ids.map(poll);
  await until(async () => (await waiting()) === ids.length);
  for (const id of ids) await store.decide(eventId, id, categoryId);
  report('1,000 waiters, 1,000 decisions in a burst', await Promise.all(answers));
  console.log(`machine: ${(await import('node:os')).cpus().length} cores, Node ${process.version}; gateway in its own process`);
} finally {
  await agent.close();
  await gateway.stop();
  await redis.quit();
}
