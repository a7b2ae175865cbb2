import { expect } from 'chai';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { eventKeys } from '../core/keys.ts';
import { createPool } from '../core/pg.ts';
import { createRedis } from '../core/redis.ts';
import { startShard } from '../shards/shard.ts';
import { testLogger, waitFor } from './support/env.ts';
import { seedEvent, startTestStack, type TestStack } from './support/stack.ts';

// Expiry and reads do not depend on any process staying up: due times and statuses live in Redis,
// the durable record in PostgreSQL.
describe('holds across restarts, and reads once Redis has let go', function () {
  this.timeout(60_000);
  let stack: TestStack;
  let redis: Redis;
  let db: pg.Pool;

  before(async () => {
    stack = await startTestStack({ gateway: true, persister: true }, { reservationTtlMs: 1_000, reaperIntervalMs: 100 });
    redis = createRedis(stack.config.redisUrl, testLogger());
    db = createPool(stack.config.databaseUrl, testLogger());
  });
  after(async () => {
    await db.end();
    await redis.quit();
    await stack.close();
  });

  const token = () => stack.token('user', 'restarter');

  it('a hold that came due while no shard was running expires as soon as a shard starts', async () => {
    const { eventId } = await seedEvent(stack, { total_stock: 3 });
    const first = await startShard(stack.config, testLogger('shard-1'));
    const res = await stack.http('POST', '/reserve', { token: token(), body: { event_id: eventId, category: 'VIP', qty: 3 }, headers: { prefer: 'wait=10' } });
    expect(res.status).to.equal(201);
    await first.close();
    // Every shard is down; the hold passes expires_at with nobody to reap it.
    const expiresAt = Date.parse(res.body.expires_at);
    await waitFor('the hold to pass expires_at', () => Date.now() > expiresAt + 200 || undefined);
    expect((await stack.http('GET', `/events/${eventId}/availability`)).body.categories[0]).to.include({ available: 0, held: 3 });
    const second = await startShard(stack.config, testLogger('shard-2'));
    try {
      await waitFor('the seats to come back', async () => (await stack.http('GET', `/events/${eventId}/availability`)).body.categories[0].available === 3 || undefined);
      expect((await stack.http('GET', `/reservations/${res.body.reservation_id}`, { token: token() })).body.status).to.equal('expired');
    } finally {
      await second.close();
    }
  });

  it('a reservation Redis no longer has is read from PostgreSQL (GET, confirm and cancel answer from it)', async () => {
    const { eventId } = await seedEvent(stack, { total_stock: 3 });
    const shard = await startShard(stack.config, testLogger('shard'));
    let id: string;
    try {
      const res = await stack.http('POST', '/reserve', { token: token(), body: { event_id: eventId, category: 'VIP', qty: 1 }, headers: { prefer: 'wait=10' } });
      id = res.body.reservation_id;
      expect((await stack.http('POST', '/confirm', { token: token(), body: { reservation_id: id } })).status).to.equal(200);
      await waitFor('Postgres to have the confirmed reservation', async () =>
        (await db.query('SELECT 1 FROM reservations WHERE id = $1 AND status = $2', [id, 'confirmed'])).rowCount === 1 || undefined);
    } finally {
      await shard.close();
    }
    const before = (await stack.http('GET', `/reservations/${id}`, { token: token() })).body;
    // What STATUS_RETENTION does after 24 h:
    await redis.del(eventKeys(stack.config.keyPrefix, eventId).reservation(id));
    const after = await stack.http('GET', `/reservations/${id}`, { token: token() });
    expect(after.status).to.equal(200);
    expect(after.body).to.deep.equal(before);
    const again = await stack.http('POST', '/confirm', { token: token(), body: { reservation_id: id, payment_ok: false } });
    expect(again.status).to.equal(200);
    expect(again.body.booking_id).to.equal(before.booking_id);
    expect((await stack.http('DELETE', `/reservations/${id}`, { token: token() })).status).to.equal(409);
    expect((await stack.http('GET', `/reservations/${id}`, { token: stack.token('user', 'someone') })).status).to.equal(404);
  });
});
