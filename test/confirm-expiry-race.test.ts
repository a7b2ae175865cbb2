import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { outboxEntryRecords } from '../core/contracts.ts';
import { AppError } from '../core/errors.ts';
import { HoldTransitions } from '../core/hold-transitions.ts';
import { newReservationId } from '../core/keys.ts';
import { createRedis } from '../core/redis.ts';
import { ReservationStore } from '../core/reservation-store.ts';
import { confirm, type ConfirmDeps } from '../gateway/lifecycle/confirm.ts';
import { SimulatedPayment } from '../gateway/payment/simulated-payment.ts';
import { Reaper } from '../shards/expiry/reaper.ts';
import { deleteTestKeys, testConfig, testLogger, waitFor } from './support/env.ts';

// Regression (the Go original let confirm and expiry both win): 200 holds, each confirmed at the very
// moment it expires while two reapers (the shard's component) run flat out. Each time exactly one of
// confirm or expiry wins, seats are released at most once, and only the winner's event is in the outbox.
describe('confirm racing expiry', function () {
  this.timeout(60_000);
  const config = testConfig();
  const REPETITIONS = 200;
  const TTL_MS = 400;
  let redis: Redis;
  let other: Redis;

  before(() => {
    redis = createRedis(config.redisUrl, testLogger());
    other = createRedis(config.redisUrl, testLogger());
  });
  after(async () => {
    await Promise.all([redis.quit(), other.quit()]);
    await deleteTestKeys(config);
  });

  it('200 times, the hold expiring at the moment of confirm: exactly one wins each time', async () => {
    const eventId = randomUUID();
    const store = new ReservationStore(redis, { keyPrefix: config.keyPrefix, holdTtlMs: TTL_MS, retentionMs: 60_000 });
    const settings = { keyPrefix: config.keyPrefix, retentionMs: 60_000, paymentTimeoutMs: 60_000 };
    await store.initStock(eventId, 'c1', REPETITIONS, 4);

    const holds: { id: string; user: string; expiresAtMs: number }[] = [];
    for (let i = 0; i < REPETITIONS; i++) {
      const id = newReservationId(eventId, randomUUID());
      await store.admit({ reservationId: id, userId: `u${i}`, eventId, categoryId: 'c1', categoryName: 'A', qty: 1 });
      const decision = await store.decide(eventId, id, 'c1');
      if (decision.kind !== 'decided' || decision.expiresAtMs === undefined) throw new Error('expected a hold');
      holds.push({ id, user: `u${i}`, expiresAtMs: decision.expiresAtMs });
    }
    const [sec, usec] = await redis.time();
    const redisAheadMs = Number(sec) * 1000 + Math.floor(Number(usec) / 1000) - Date.now();

    // Two reapers on their own connections, as two ticks of a shard (or a shard and its successor) would.
    const reapers = [redis, other].map((conn) => new Reaper(conn, new HoldTransitions(conn, settings), { keyPrefix: config.keyPrefix, intervalMs: 1 }, testLogger()));
    for (const reaper of reapers) {
      reaper.setEvents([eventId]);
      reaper.start();
    }
    const transitions = new HoldTransitions(other, settings);
    const payment = new SimulatedPayment({ latencyMs: 1, declineRate: 0 });
    const deps: ConfirmDeps = {
      read: (id) => store.read(id),
      beginConfirm: (id, user, booking) => transitions.beginConfirm(id, user, booking),
      finishConfirm: (id, cat, attempt, paid) => transitions.finishConfirm(id, cat, attempt, paid),
      waitWhilePaying: async (r) => { await waitFor('the payment to finish', async () => !(await store.read(r.reservationId))?.isPaying || undefined); },
      priceOf: async () => 100,
      payment,
      paymentTimeoutMs: 60_000,
    };

    const outcomes = await Promise.all(
      holds.map(
        (h, i) =>
          new Promise<'confirmed' | 'expired'>((resolve, reject) => {
            const jitterMs = (i % 21) - 10; // from 10 ms before expiry to 10 ms after
            setTimeout(() => {
              confirm(deps, h.user, h.id, true).then(
                () => resolve('confirmed'),
                (err: unknown) => (err instanceof AppError && err.code === 'hold_expired' ? resolve('expired') : reject(err)),
              );
            }, Math.max(0, h.expiresAtMs - redisAheadMs - Date.now() + jitterMs));
          }),
      ),
    );
    await waitFor('every hold settled', async () => (await redis.zcard(store.keys(eventId).holds)) === 0 || undefined);
    await Promise.all(reapers.map((r) => r.close()));

    const outbox = (await redis.xrange(store.keys(eventId).outbox, '-', '+')).flatMap(([, f]) => outboxEntryRecords(f));
    const confirmedCount = outcomes.filter((o) => o === 'confirmed').length;
    for (const [i, h] of holds.entries()) {
      const final = await store.read(h.id);
      expect(final?.status, h.id).to.equal(outcomes[i]);
      const endings = outbox.filter((r) => r.value.includes(h.id) && /reservation\.(confirmed|expired)/.test(r.type)).map((r) => r.type);
      expect(endings, `the only ending event of ${h.id}`).to.deep.equal([`reservation.${outcomes[i]}`]);
    }
    const stock = (await store.readStock(eventId, ['c1'])).get('c1')!;
    expect(stock).to.deep.equal({ total: REPETITIONS, available: REPETITIONS - confirmedCount, held: 0, confirmed: confirmedCount });
    // Both sides of the race were exercised.
    expect(confirmedCount).to.be.within(1, REPETITIONS - 1);
  });
});
