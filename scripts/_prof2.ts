import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../core/config.ts';
import { newReservationId } from '../core/keys.ts';
import { createLogger } from '../core/logger.ts';
import { createRedis, Scripts } from '../core/redis.ts';
import { ReservationStore } from '../core/reservation-store.ts';
const config = loadConfig();
const logger = createLogger('p', 'warn');
const redis = createRedis(config.redisUrl, logger);
const prelude = readFileSync('core/lua/_prelude.lua', 'utf8');
const batch = readFileSync('core/lua/decideBatch-9.lua', 'utf8');
async function trial(name: string, mutate: (s: string) => string) {
  const prefix = `prof${randomUUID().slice(0, 6)}`;
  const store = new ReservationStore(redis, { keyPrefix: prefix, holdTtlMs: 3_600_000, retentionMs: 3_600_000, defaultMaxDepth: 1e9 });
  const scripts = new Scripts(redis);
  const eventId = randomUUID();
  await store.initStock(eventId, 'c1', 1000, 4);
  const N = 5000;
  await Promise.all(Array.from({ length: N }, (_, i) => store.admit({ reservationId: newReservationId(eventId, randomUUID()), userId: `u${i}`, eventId, categoryId: 'c1', categoryName: 'A', qty: 1 })));
  const k = store.keys(eventId);
  const [, lease] = (await scripts.run('acquireLease', [k.lease, k.fence], ['p', 3600000, ''])) as [number, string];
  const lua = mutate(prelude + '\n' + batch);
  const keys = [k.decided, k.depth, k.outbox, k.holds, k.meta, k.users, k.queuedByUser, k.pending, k.lease];
  const t = process.hrtime.bigint();
  for (;;) {
    const r = (await redis.eval(lua, 9, ...keys, lease, N, 500, k.base, 3600000, 3600000, 1, k.changes)) as number[];
    if (r[2] === 0) break;
  }
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  console.log(name.padEnd(20), Math.round(N * 1000 / ms), '/s', (ms * 1000 / N).toFixed(1), 'us each');
  let cursor = '0';
  do { const [n, ks] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000); if (ks.length) await redis.unlink(...ks); cursor = n; } while (cursor !== '0');
}
const r2 = createRedis(config.redisUrl, logger);
await r2.config('RESETSTAT');
await trial('full', (s) => s);
console.log((await r2.info('commandstats')).split('\n').filter((l) => l.startsWith('cmdstat')).map((l) => l.replace(/,rejected.*/, '')).join('\n'));
await r2.quit();
process.exit(0);
await trial('no emit', (s) => s.replace("  emit(res_key, ctx.outbox, ctx.channel, event_type, ctx.schema)\nend", "end"));
await trial('no publish', (s) => s.replace("if channel ~= '' then redis.call('PUBLISH'", "if false then redis.call('PUBLISH'"));
await trial('no touch', (s) => s.replace("  touch(res_key, ctx.now, ctx.retention_ms)\n  emit", "  emit"));
await trial('no zrem', (s) => s.replace("  redis.call('ZREM', ctx.pending, res_id)\n  local event_type", "  local event_type"));
await redis.quit();
