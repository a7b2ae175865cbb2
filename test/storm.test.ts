import { expect } from 'chai';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { createPool } from '../core/pg.ts';
import { createRedis } from '../core/redis.ts';
import { ReservationStore } from '../core/reservation-store.ts';
import { testLogger, waitFor } from './support/env.ts';
import { startTestStack, type TestStack } from './support/stack.ts';

/** A deterministic pseudo-random sequence, so a failing storm can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// The invariant under a storm: 2,000 concurrent operations (1,000 reserves, each followed by a confirm,
// a declined confirm, a cancel, a confirm of someone else's hold, or nothing, so the hold expires) over
// one event with two categories, holds of 1.5 s and payments that take 20 ms and sometimes fail.
describe('the stock invariant under a storm of reserve, confirm, cancel and expiry', function () {
  this.timeout(180_000);
  let stack: TestStack;
  let redis: Redis;
  let db: pg.Pool;

  before(async () => {
    stack = await startTestStack(
      { gateway: true, shard: true, persister: true },
      { reservationTtlMs: 1_500, reaperIntervalMs: 100, paymentLatencyMs: 20, paymentDeclineRate: 0.2 },
    );
    redis = createRedis(stack.config.redisUrl, testLogger());
    db = createPool(stack.config.databaseUrl, testLogger());
  });
  after(async () => {
    await db.end();
    await redis.quit();
    await stack.close();
  });

  it('available + held + confirmed == total_stock for every category, nobody above max_per_user, and Postgres agrees', async () => {
    const rand = random(20261125);
    const admin = stack.token('admin', 'storm-admin');
    const event = (await stack.http('POST', '/events', { token: admin, body: { name: 'Storm', date: '2027-01-01T20:00:00Z', max_per_user: 3 } })).body;
    const categories = [{ name: 'Floor', total_stock: 150 }, { name: 'Balcony', total_stock: 100 }];
    const categoryIds: string[] = [];
    for (const c of categories) categoryIds.push((await stack.http('POST', `/events/${event.id}/ticket-category`, { token: admin, body: { ...c, price: 5000 } })).body.id);

    const users = Array.from({ length: 250 }, (_, i) => ({ sub: `storm-${event.id}-${i}`, token: stack.token('user', `storm-${event.id}-${i}`) }));
    const held: { id: string; token: string }[] = [];
    const answers: number[] = [];
    const ids = new Set<string>();

    const flows = Array.from({ length: 1_000 }, async () => {
      const user = users[Math.floor(rand() * users.length)]!;
      const category = categories[Math.floor(rand() * categories.length)]!.name;
      const qty = 1 + Math.floor(rand() * 2);
      const followUp = rand();
      const reserved = await stack.http('POST', '/reserve', { token: user.token, body: { event_id: event.id, category, qty }, headers: { prefer: 'wait=10' } });
      answers.push(reserved.status);
      const id = (reserved.body.reservation_id as string | undefined);
      if (id) ids.add(id);
      if (reserved.status !== 201) return;
      held.push({ id: id!, token: user.token });
      let res;
      if (followUp < 0.35) res = await stack.http('POST', '/confirm', { token: user.token, body: { reservation_id: id } });
      else if (followUp < 0.45) res = await stack.http('POST', '/confirm', { token: user.token, body: { reservation_id: id, payment_ok: false } });
      else if (followUp < 0.65) res = await stack.http('DELETE', `/reservations/${id}`, { token: user.token });
      else if (followUp < 0.75 && held.length > 1) {
        const other = held[Math.floor(rand() * held.length)]!;
        res = await stack.http('POST', '/confirm', { token: user.token, body: { reservation_id: other.id } });
      }
      if (res) answers.push(res.status);
    });
    await Promise.all(flows);

    // Every request got an answer of the contract: no 500, no 503.
    expect(answers.filter((s) => ![200, 201, 202, 402, 404, 409].includes(s)), 'unexpected statuses').to.deep.equal([]);

    const store = new ReservationStore(redis, { keyPrefix: stack.config.keyPrefix, holdTtlMs: 1, retentionMs: 1 });
    const k = store.keys(event.id);
    await waitFor('every hold to end (confirmed, cancelled or expired)', async () =>
      (await redis.zcard(k.holds)) === 0 && (await redis.get(k.depth)) === '0' || undefined, 60_000);

    // One Lua call reads every category at one instant.
    const stock = (await redis.eval(
      "local out = {} for i, key in ipairs(KEYS) do out[i] = redis.call('HMGET', key, 'total', 'available', 'held', 'confirmed') end return out",
      categoryIds.length,
      ...categoryIds.map((id) => k.category(id)),
    )) as string[][];
    let confirmedSeats = 0;
    for (const [i, [total, available, heldSeats, confirmed]] of stock.entries()) {
      expect(Number(available) + Number(heldSeats) + Number(confirmed), categories[i]!.name).to.equal(Number(total));
      expect(Number(available)).to.be.at.least(0);
      expect(Number(heldSeats)).to.equal(0);
      confirmedSeats += Number(confirmed);
    }
    expect(confirmedSeats, 'some seats were sold').to.be.greaterThan(0);

    const reservations = (await Promise.all([...ids].map((id) => store.read(id)))).filter((r) => r !== undefined);
    const perUser = new Map<string, number>();
    for (const r of reservations) if (r.status === 'confirmed') perUser.set(r.userId, (perUser.get(r.userId) ?? 0) + r.qty);
    expect(Math.max(...perUser.values()), 'seats bought by one user').to.be.at.most(3);
    expect([...perUser.values()].reduce((a, b) => a + b, 0)).to.equal(confirmedSeats);
    const counts = await redis.hgetall(k.users);
    for (const [user, seats] of Object.entries(counts)) expect(Number(seats), user).to.be.within(1, 3);

    const expected = new Map(reservations.map((r) => [r.reservationId, r.status]));
    await waitFor('Postgres to agree with Redis on every reservation', async () => {
      const { rows } = await db.query<{ id: string; status: string }>('SELECT id, status FROM reservations WHERE event_id = $1', [event.id]);
      return rows.length === expected.size && rows.every((row) => expected.get(row.id) === row.status) || undefined;
    }, 60_000);
    const { rows } = await db.query<{ seats: number }>('SELECT coalesce(sum(qty), 0)::int AS seats FROM bookings WHERE event_id = $1', [event.id]);
    expect(rows[0]!.seats).to.equal(confirmedSeats);
  });
});
