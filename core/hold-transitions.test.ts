import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { deleteTestKeys, testConfig, testLogger } from '../test/support/env.ts';
import { outboxEntryRecords } from './contracts.ts';
import { HoldTransitions } from './hold-transitions.ts';
import { bodyHash, IdempotencyKeys } from './idempotency.ts';
import { newReservationId } from './keys.ts';
import { createRedis } from './redis.ts';
import { ReservationStore } from './reservation-store.ts';

// The hold scripts (reapHolds, beginConfirm, finishConfirm, cancelReservation, claimIdempotencyKey)
// and the per-user cap of decideRequest, called directly against the real Redis: every return code.
describe('hold transitions (real Redis)', () => {
  const config = testConfig();
  let redis: Redis;
  let store: ReservationStore;
  let shortStore: ReservationStore;
  let transitions: HoldTransitions;

  before(() => {
    redis = createRedis(config.redisUrl, testLogger());
    store = new ReservationStore(redis, { keyPrefix: config.keyPrefix, holdTtlMs: 60_000, retentionMs: 60_000 });
    shortStore = new ReservationStore(redis, { keyPrefix: config.keyPrefix, holdTtlMs: 1, retentionMs: 60_000 });
    transitions = new HoldTransitions(redis, { keyPrefix: config.keyPrefix, retentionMs: 60_000, paymentTimeoutMs: 60_000 });
  });
  after(async () => {
    await redis.quit();
    await deleteTestKeys(config);
  });

  async function event(total = 5, maxPerUser = 4) {
    const eventId = randomUUID();
    await store.initStock(eventId, 'c1', total, maxPerUser);
    return eventId;
  }
  async function hold(eventId: string, options: { qty?: number; user?: string; via?: ReservationStore } = {}) {
    const reservationId = newReservationId(eventId, randomUUID());
    await store.admit({ reservationId, userId: options.user ?? 'u1', eventId, categoryId: 'c1', categoryName: 'A', qty: options.qty ?? 1 });
    const decision = await (options.via ?? store).decide(eventId, reservationId, 'c1');
    return { reservationId, decision };
  }
  const stock = async (eventId: string) => (await store.readStock(eventId, ['c1'])).get('c1')!;
  const status = async (id: string) => (await redis.hget(store.keys(id.slice(0, 36)).reservation(id), 'status'))!;
  const outboxTypes = async (eventId: string, id: string) =>
    (await redis.xrange(store.keys(eventId).outbox, '-', '+')).flatMap(([, f]) => outboxEntryRecords(f)).filter((r) => r.value.includes(id)).map((r) => r.type);
  const waitForRedisClock = async (ms: number) => {
    const [sec, usec] = await redis.time();
    const target = Number(sec) * 1000 + Math.floor(Number(usec) / 1000) + ms;
    for (;;) {
      const [s, u] = await redis.time();
      if (Number(s) * 1000 + Math.floor(Number(u) / 1000) >= target) return;
    }
  };

  describe('the per-user cap in decideRequest', () => {
    it("refuses limit_exceeded when the user's holds plus qty pass max_per_user, and counts again after a release", async () => {
      const eventId = await event(10, 3);
      expect((await hold(eventId, { qty: 2 })).decision).to.include({ status: 'reserved' });
      const over = await hold(eventId, { qty: 2 });
      expect(over.decision).to.include({ status: 'rejected', reason: 'limit_exceeded' });
      expect((await hold(eventId, { qty: 1, user: 'u2' })).decision).to.include({ status: 'reserved' });
      expect((await hold(eventId, { qty: 1 })).decision).to.include({ status: 'reserved' });
      expect(await redis.hget(store.keys(eventId).users, 'u1')).to.equal('3');
      expect(await stock(eventId)).to.include({ available: 6, held: 4 });
    });
  });

  describe('reapHolds', () => {
    it('expires a hold past expires_at: seats back, user count down, expired snapshot (code: expired 1)', async () => {
      const eventId = await event(2);
      const { reservationId } = await hold(eventId, { qty: 2, via: shortStore });
      await waitForRedisClock(2);
      const result = await transitions.reap(eventId);
      expect(result).to.deep.equal({ expired: 1, nextDueMs: undefined });
      expect(await status(reservationId)).to.equal('expired');
      expect(await stock(eventId)).to.deep.equal({ total: 2, available: 2, held: 0, confirmed: 0 });
      expect(await redis.hget(store.keys(eventId).users, 'u1')).to.equal(null);
      expect(await outboxTypes(eventId, reservationId)).to.deep.equal(['reservation.queued', 'reservation.reserved', 'reservation.expired']);
    });

    it('leaves a hold that is not due and reports when the next one is', async () => {
      const eventId = await event();
      const { decision } = await hold(eventId);
      const result = await transitions.reap(eventId);
      expect(result.expired).to.equal(0);
      expect(result.nextDueMs).to.equal(decision.kind === 'decided' ? decision.expiresAtMs : -1);
    });

    it('does not expire a hold whose payment is in flight, until the payment deadline', async () => {
      const eventId = await event();
      const { reservationId } = await hold(eventId, { via: shortStore });
      // A confirm that began just before expiry leaves the hold `paying`: set that state up directly.
      await redis.hset(store.keys(eventId).reservation(reservationId), 'status', 'paying', 'payment_deadline', Date.now() + 60_000, 'payment_attempt', 1);
      await redis.zadd(store.keys(eventId).holds, 0, reservationId);
      await waitForRedisClock(2);
      expect((await transitions.reap(eventId)).expired).to.equal(0);
      expect(await status(reservationId)).to.equal('paying');
      expect(await stock(eventId)).to.include({ held: 1 });
    });

    it('a payment abandoned past its deadline: back to reserved while the hold lasts, expired once it is over', async () => {
      const eventId = await event();
      const live = await hold(eventId);
      const over = await hold(eventId, { via: shortStore });
      for (const { reservationId } of [live, over]) {
        await redis.hset(store.keys(eventId).reservation(reservationId), 'status', 'paying', 'payment_deadline', 1, 'payment_attempt', 1);
        await redis.zadd(store.keys(eventId).holds, 1, reservationId);
      }
      await waitForRedisClock(2);
      expect((await transitions.reap(eventId)).expired).to.equal(1);
      expect(await status(live.reservationId)).to.equal('reserved');
      expect(await status(over.reservationId)).to.equal('expired');
      expect(await stock(eventId)).to.include({ available: 4, held: 1 });
    });
  });

  describe('beginConfirm and finishConfirm', () => {
    it('begin moves a live hold to paying with a booking id; a paid finish confirms (codes 1 and 1)', async () => {
      const eventId = await event(3);
      const { reservationId } = await hold(eventId, { qty: 2 });
      const begin = await transitions.beginConfirm(reservationId, 'u1', 'booking-1');
      expect(begin).to.deep.equal({ kind: 'paying', bookingId: 'booking-1', attempt: '1' });
      expect(await status(reservationId)).to.equal('paying');
      expect(await transitions.finishConfirm(reservationId, 'c1', '1', true)).to.deep.equal({ kind: 'confirmed', bookingId: 'booking-1' });
      expect(await stock(eventId)).to.deep.equal({ total: 3, available: 1, held: 0, confirmed: 2 });
      expect(await redis.zscore(store.keys(eventId).holds, reservationId)).to.equal(null);
      expect(await redis.hget(store.keys(eventId).users, 'u1')).to.equal('2');
      expect(await outboxTypes(eventId, reservationId)).to.deep.equal(['reservation.queued', 'reservation.reserved', 'reservation.confirmed']);
    });

    it('begin answers confirmed (2), in flight (3), expired (4), not confirmable (5) and unknown or not yours (0)', async () => {
      const eventId = await event(5, 10);
      const confirmed = await hold(eventId);
      await transitions.beginConfirm(confirmed.reservationId, 'u1', 'b-confirmed');
      await transitions.finishConfirm(confirmed.reservationId, 'c1', '1', true);
      expect(await transitions.beginConfirm(confirmed.reservationId, 'u1', 'other')).to.deep.equal({ kind: 'confirmed', bookingId: 'b-confirmed' });

      const paying = await hold(eventId);
      await transitions.beginConfirm(paying.reservationId, 'u1', 'b-paying');
      expect(await transitions.beginConfirm(paying.reservationId, 'u1', 'other')).to.deep.equal({ kind: 'in_flight', bookingId: 'b-paying' });

      const late = await hold(eventId, { via: shortStore });
      await waitForRedisClock(2);
      expect(await transitions.beginConfirm(late.reservationId, 'u1', 'b')).to.deep.equal({ kind: 'expired' });
      expect(await status(late.reservationId), 'not reaped, yet refused').to.equal('reserved');

      const queuedId = newReservationId(eventId, randomUUID());
      await store.admit({ reservationId: queuedId, userId: 'u1', eventId, categoryId: 'c1', categoryName: 'A', qty: 1 });
      expect(await transitions.beginConfirm(queuedId, 'u1', 'b')).to.deep.equal({ kind: 'not_confirmable', status: 'queued' });

      const mine = await hold(eventId);
      expect(await transitions.beginConfirm(mine.reservationId, 'intruder', 'b')).to.deep.equal({ kind: 'not_found' });
      expect(await transitions.beginConfirm(newReservationId(eventId, randomUUID()), 'u1', 'b')).to.deep.equal({ kind: 'not_found' });
      expect(await transitions.beginConfirm('garbage', 'u1', 'b')).to.deep.equal({ kind: 'not_found' });
    });

    it('a declined payment puts the hold back to reserved (2), or expires it if the hold is over (3)', async () => {
      const eventId = await event(2);
      const live = await hold(eventId);
      await transitions.beginConfirm(live.reservationId, 'u1', 'b1');
      expect(await transitions.finishConfirm(live.reservationId, 'c1', '1', false)).to.deep.equal({ kind: 'declined' });
      expect(await status(live.reservationId)).to.equal('reserved');
      const retry = await transitions.beginConfirm(live.reservationId, 'u1', 'ignored');
      expect(retry).to.deep.equal({ kind: 'paying', bookingId: 'b1', attempt: '2' });

      const shortLived = new ReservationStore(redis, { keyPrefix: config.keyPrefix, holdTtlMs: 300, retentionMs: 60_000 });
      const ending = await hold(eventId, { via: shortLived });
      expect((await transitions.beginConfirm(ending.reservationId, 'u1', 'b2')).kind).to.equal('paying');
      await waitForRedisClock(310);
      expect(await transitions.finishConfirm(ending.reservationId, 'c1', '1', false)).to.deep.equal({ kind: 'declined_expired' });
      expect(await status(ending.reservationId)).to.equal('expired');
      expect(await stock(eventId)).to.include({ available: 1, held: 1 });
    });

    it('a finish from an attempt that no longer owns the payment changes nothing (0)', async () => {
      const eventId = await event();
      const { reservationId } = await hold(eventId);
      await transitions.beginConfirm(reservationId, 'u1', 'b1');
      await transitions.finishConfirm(reservationId, 'c1', '1', false);
      await transitions.beginConfirm(reservationId, 'u1', 'b1');
      expect(await transitions.finishConfirm(reservationId, 'c1', '1', true)).to.deep.equal({ kind: 'superseded', status: 'paying', bookingId: 'b1' });
      expect(await stock(eventId)).to.include({ held: 1, confirmed: 0 });
    });

    it('a payment that finishes after its deadline, when the hold lasts past it, still confirms', async () => {
      const eventId = await event();
      const { reservationId } = await hold(eventId);
      const quickTimeout = new HoldTransitions(redis, { keyPrefix: config.keyPrefix, retentionMs: 60_000, paymentTimeoutMs: 1 });
      await quickTimeout.beginConfirm(reservationId, 'u1', 'b1');
      await waitForRedisClock(2);
      expect(await transitions.finishConfirm(reservationId, 'c1', '1', true)).to.deep.equal({ kind: 'confirmed', bookingId: 'b1' });
    });
  });

  describe('cancelReservation', () => {
    it('cancels a hold and its seats are sellable at once (1); a repeat answers already cancelled (2)', async () => {
      const eventId = await event(1);
      const { reservationId } = await hold(eventId);
      expect(await transitions.cancel(reservationId, 'c1', 'u1')).to.deep.equal({ kind: 'cancelled' });
      expect(await stock(eventId)).to.deep.equal({ total: 1, available: 1, held: 0, confirmed: 0 });
      expect((await hold(eventId, { user: 'u2' })).decision).to.include({ status: 'reserved' });
      expect(await transitions.cancel(reservationId, 'c1', 'u1')).to.deep.equal({ kind: 'already_cancelled' });
      expect(await outboxTypes(eventId, reservationId)).to.deep.equal(['reservation.queued', 'reservation.reserved', 'reservation.cancelled']);
    });

    it('cancels a queued request: it leaves the depth count and its later decision takes no seat', async () => {
      const eventId = await event(1);
      const reservationId = newReservationId(eventId, randomUUID());
      await store.admit({ reservationId, userId: 'u1', eventId, categoryId: 'c1', categoryName: 'A', qty: 1 });
      expect(await transitions.cancel(reservationId, 'c1', 'u1')).to.deep.equal({ kind: 'cancelled' });
      expect(await redis.get(store.keys(eventId).depth)).to.equal('0');
      expect(await store.decide(eventId, reservationId, 'c1')).to.include({ kind: 'already_decided', status: 'cancelled' });
      expect(await stock(eventId)).to.include({ available: 1, held: 0 });
    });

    it('refuses confirmed, expired, rejected and paying reservations (3), and another user (0)', async () => {
      const eventId = await event(1);
      const { reservationId } = await hold(eventId);
      expect(await transitions.cancel(reservationId, 'c1', 'intruder')).to.deep.equal({ kind: 'not_found' });
      await transitions.beginConfirm(reservationId, 'u1', 'b');
      expect(await transitions.cancel(reservationId, 'c1', 'u1')).to.deep.equal({ kind: 'not_cancellable', status: 'paying' });
      await transitions.finishConfirm(reservationId, 'c1', '1', true);
      expect(await transitions.cancel(reservationId, 'c1', 'u1')).to.deep.equal({ kind: 'not_cancellable', status: 'confirmed' });
      // A request admitted while a seat was free, decided after another took it: rejected.
      const other = await event(1);
      const late = newReservationId(other, randomUUID());
      await store.admit({ reservationId: late, userId: 'u3', eventId: other, categoryId: 'c1', categoryName: 'A', qty: 1 });
      await hold(other, { user: 'u4' });
      expect(await store.decide(other, late, 'c1')).to.include({ status: 'rejected', reason: 'out_of_stock' });
      expect(await transitions.cancel(late, 'c1', 'u3')).to.deep.equal({ kind: 'not_cancellable', status: 'rejected' });
    });
  });

  describe('claimIdempotencyKey', () => {
    it('claims once (1), replays the same body (0, same hash) and tells another body apart', async () => {
      const keys = new IdempotencyKeys(redis, { keyPrefix: config.keyPrefix, ttlMs: 60_000 });
      const hash = bodyHash({ b: 1, a: [2, { y: 1, x: 2 }] });
      expect(hash).to.equal(bodyHash({ a: [2, { x: 2, y: 1 }], b: 1 }));
      expect(await keys.claim('u1', 'reserve', 'k1', hash, 'ref-1')).to.deep.equal({ kind: 'claimed', ref: 'ref-1' });
      expect(await keys.claim('u1', 'reserve', 'k1', hash, 'ref-2')).to.deep.equal({ kind: 'replay', ref: 'ref-1' });
      expect(await keys.claim('u1', 'reserve', 'k1', bodyHash({ b: 2 }), 'ref-3')).to.deep.equal({ kind: 'reused_with_other_body' });
      expect(await keys.claim('u2', 'reserve', 'k1', hash, 'ref-4'), 'scoped to the user').to.deep.equal({ kind: 'claimed', ref: 'ref-4' });
      expect(await keys.claim('u1', 'confirm', 'k1', hash, 'ref-5'), 'scoped to the route').to.deep.equal({ kind: 'claimed', ref: 'ref-5' });
      await keys.release('u1', 'reserve', 'k1');
      expect(await keys.claim('u1', 'reserve', 'k1', bodyHash({ b: 2 }), 'ref-6')).to.deep.equal({ kind: 'claimed', ref: 'ref-6' });
    });
  });
});
