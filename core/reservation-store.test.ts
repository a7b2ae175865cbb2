import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { outboxEntryRecords, parseOutboxRecord } from './contracts.ts';
import { drawOrder } from './fairness/lottery.ts';
import { newReservationId } from './keys.ts';
import { createRedis } from './redis.ts';
import { ReservationStore, type AdmitRequest } from './reservation-store.ts';
import { deleteTestKeys, testConfig, testLogger, waitFor } from '../test/support/env.ts';

// The Lua scripts, called directly against the real Redis: every return code of each.
describe('reservation scripts (real Redis)', () => {
  const config = testConfig();
  let redis: Redis;
  let store: ReservationStore;

  before(() => {
    redis = createRedis(config.redisUrl, testLogger());
    store = new ReservationStore(redis, { keyPrefix: config.keyPrefix, holdTtlMs: 60_000, retentionMs: 3_600_000 });
  });
  after(async () => {
    await redis.quit();
    await deleteTestKeys(config);
  });

  const request = (eventId: string, categoryId: string, qty = 1, userId = 'user-1'): AdmitRequest => ({
    reservationId: newReservationId(eventId, randomUUID()),
    userId,
    eventId,
    categoryId,
    categoryName: 'VIP',
    qty,
  });

  async function outbox(eventId: string): Promise<{ type: string; snapshot: Record<string, unknown> }[]> {
    const entries = await redis.xrange(store.keys(eventId).outbox, '-', '+');
    return entries.flatMap(([, fields]) => outboxEntryRecords(fields).map((r) => ({ type: r.type, snapshot: JSON.parse(r.value) as Record<string, unknown> })));
  }

  describe('initStock', () => {
    it('creates the stock once and leaves it alone after that', async () => {
      const eventId = randomUUID();
      expect(await store.initStock(eventId, 'c1', 10, 4)).to.equal(true);
      const r = request(eventId, 'c1', 3);
      await store.admit(r);
      await store.decide(eventId, r.reservationId, 'c1');
      expect(await store.initStock(eventId, 'c1', 10, 4)).to.equal(false);
      const stock = (await store.readStock(eventId, ['c1'])).get('c1');
      expect(stock).to.deep.equal({ total: 10, available: 7, held: 3, confirmed: 0 });
    });
  });

  describe('admitRequest', () => {
    it('admits with the next arrival number, status queued, a position and the queued snapshot', async () => {
      const eventId = randomUUID();
      await store.initStock(eventId, 'c1', 5, 4);
      const first = await store.admit(request(eventId, 'c1'));
      const second = request(eventId, 'c1');
      const admitted = await store.admit(second);
      expect(first).to.include({ kind: 'admitted', seqArrival: 1, position: 0 });
      expect(admitted).to.include({ kind: 'admitted', seqArrival: 2, position: 1 });
      expect(await redis.get(store.keys(eventId).depth)).to.equal('2');
      const read = await store.read(second.reservationId);
      expect(read).to.include({ status: 'queued', qty: 1, userId: 'user-1', position: 1, version: 1, category: 'VIP' });
      const events = await outbox(eventId);
      expect(events.map((e) => e.type)).to.deep.equal(['reservation.queued', 'reservation.queued']);
      expect(events[1]!.snapshot).to.include({ reservation_id: second.reservationId, status: 'queued', version: 1, seq_arrival: 2 });
    });

    it('returns the existing reservation unchanged for an id that exists (code 2)', async () => {
      const eventId = randomUUID();
      await store.initStock(eventId, 'c1', 5, 4);
      const r = request(eventId, 'c1');
      await store.admit(r);
      const again = await store.admit(r);
      expect(again).to.include({ kind: 'duplicate', seqArrival: 1 });
      expect(await redis.get(store.keys(eventId).depth)).to.equal('1');
      expect(await outbox(eventId)).to.have.length(1);
    });

    it('refuses at the door when fewer seats are left than requested (code 7): an arrival number, nothing queued', async () => {
      const eventId = randomUUID();
      await store.initStock(eventId, 'c1', 1, 4);
      const r = request(eventId, 'c1', 2);
      expect(await store.admit(r)).to.deep.equal({ kind: 'out_of_stock', seqArrival: 1 });
      expect(await store.read(r.reservationId)).to.equal(undefined);
      expect(await redis.get(store.keys(eventId).depth)).to.equal(null);
      // Only its fairness record: a refusal with the number it took (docs/fairness.md).
      const [entry, ...rest] = await outbox(eventId);
      expect(rest).to.deep.equal([]);
      expect(entry!.type).to.equal('request.refused');
      expect(parseOutboxRecord(JSON.stringify(entry!.snapshot))).to.include({ ok: true });
      expect(entry!.snapshot).to.deep.include({
        type: 'request.refused', reservation_id: r.reservationId, event_id: eventId, category_id: 'c1', user_id: 'user-1',
        qty: 2, seq_arrival: 1, reason: 'out_of_stock',
      });
      expect(entry!.snapshot.received_at).to.be.a('number');
    });

    it('sheds at the depth limit (code 8) with a Retry-After from the drain rate, and takes an arrival number', async () => {
      const eventId = randomUUID();
      await store.initStock(eventId, 'c1', 100, 4);
      await store.writeEventSettings(eventId, { maxDepth: 2 }, true);
      await store.admit(request(eventId, 'c1'));
      await store.admit(request(eventId, 'c1'));
      const shed = await store.admit(request(eventId, 'c1'));
      expect(shed).to.include({ kind: 'queue_full', seqArrival: 3 });
      if (shed.kind === 'queue_full') expect(shed.retryAfterS).to.be.within(1, 60);
      expect(await store.queueStats(eventId)).to.include({ depth: 2, maxDepth: 2 });
      const refusals = (await outbox(eventId)).filter((e) => e.type === 'request.refused').map((e) => e.snapshot);
      expect(refusals).to.have.length(1);
      expect(refusals[0]).to.include({ reason: 'queue_full', seq_arrival: 3 });
    });

    it('refuses a user with max_queued requests queued (code 9) and records the refusal with its number', async () => {
      const eventId = randomUUID();
      await store.initStock(eventId, 'c1', 100, 4);
      const strict = new ReservationStore(redis, { keyPrefix: config.keyPrefix, holdTtlMs: 60_000, retentionMs: 3_600_000, maxQueuedPerUser: 1 });
      await strict.admit(request(eventId, 'c1'));
      const refused = await strict.admit(request(eventId, 'c1'));
      expect(refused).to.deep.equal({ kind: 'too_many_queued', seqArrival: 2 });
      const refusals = (await outbox(eventId)).filter((e) => e.type === 'request.refused').map((e) => e.snapshot);
      expect(refusals.map((r) => [r.reason, r.seq_arrival])).to.deep.equal([['rate_limited', 2]]);
    });

    it('refuses by the sale state: not open yet (4, with seconds to wait), paused (5), closed (6); the switch wins over the window', async () => {
      const eventId = randomUUID();
      await store.initStock(eventId, 'c1', 5, 4);
      await store.writeEventSettings(eventId, { salesOpenAtMs: Date.now() + 120_000 }, true);
      const early = await store.admit(request(eventId, 'c1'));
      expect(early.kind).to.equal('sales_not_open');
      if (early.kind === 'sales_not_open') expect(early.retryAfterS).to.be.within(100, 121);
      await store.writeEventSettings(eventId, { saleState: 'paused' }, true);
      expect(await store.admit(request(eventId, 'c1'))).to.deep.equal({ kind: 'sales_paused' });
      await store.writeEventSettings(eventId, { saleState: 'closed' }, true);
      expect(await store.admit(request(eventId, 'c1'))).to.deep.equal({ kind: 'sales_closed' });
      await store.writeEventSettings(eventId, { saleState: 'open' }, true);
      expect((await store.admit(request(eventId, 'c1'))).kind).to.equal('admitted');
      expect(await redis.get(store.keys(eventId).seq), 'refusals by sale state take no number').to.equal('1');
    });

    it('refuses a category whose stock is not initialised (code 3) and takes no number', async () => {
      const eventId = randomUUID();
      expect(await store.admit(request(eventId, 'missing'))).to.deep.equal({ kind: 'category_not_ready' });
      expect(await redis.get(store.keys(eventId).seq)).to.equal(null);
    });
  });

  describe('admitBatch', () => {
    it('gives each request of a batch what the same admits one by one give, in order, with the same outbox', async () => {
      // max depth 4 and 2 queued per user, so one sequence meets every outcome of the admission script.
      const limited = new ReservationStore(redis, { keyPrefix: config.keyPrefix, holdTtlMs: 60_000, retentionMs: 3_600_000, defaultMaxDepth: 4, maxQueuedPerUser: 2 });
      const plan: { user: string; category: string; qty: number; again?: number }[] = [
        { user: 'u1', category: 'c1', qty: 1 }, // admitted
        { user: 'u1', category: 'c1', qty: 1 }, // admitted
        { user: 'u1', category: 'c1', qty: 1 }, // u1 has 2 queued: too_many_queued
        { user: 'u2', category: 'c1', qty: 5 }, // 3 seats left: out_of_stock
        { user: 'u2', category: 'c1', qty: 1, again: 0 }, // the first request's id again: duplicate
        { user: 'u2', category: 'missing', qty: 1 }, // no stock in Redis: category_not_ready
        { user: 'u2', category: 'c1', qty: 1 }, // admitted (depth 3)
        { user: 'u3', category: 'c1', qty: 1 }, // admitted (depth 4)
        { user: 'u3', category: 'c1', qty: 1 }, // queue_full
      ];
      const ids = plan.map(() => randomUUID());
      const requestsOf = (eventId: string): AdmitRequest[] => plan.map((p, i) => ({
        reservationId: newReservationId(eventId, ids[p.again ?? i]!), userId: p.user, eventId, categoryId: p.category, categoryName: p.category, qty: p.qty,
      }));
      const one = randomUUID();
      const batch = randomUUID();
      for (const eventId of [one, batch]) await limited.initStock(eventId, 'c1', 3, 4);
      const oneByOne = [];
      for (const r of requestsOf(one)) oneByOne.push(await limited.admit(r));
      const together = await limited.admitBatch(batch, requestsOf(batch));

      const comparable = (results: Awaited<ReturnType<typeof limited.admit>>[]) => results.map((r) => ({ ...r, createdAtMs: undefined }));
      expect(comparable(together)).to.deep.equal(comparable(oneByOne));
      expect(together.map((r) => r.kind)).to.deep.equal([
        'admitted', 'admitted', 'too_many_queued', 'out_of_stock', 'duplicate', 'category_not_ready', 'admitted', 'admitted', 'queue_full',
      ]);
      const records = async (eventId: string) => (await outbox(eventId)).map(({ type, snapshot }) =>
        ({ type, seq: snapshot.seq_arrival, reason: snapshot.reason, user: snapshot.user_id, id: String(snapshot.reservation_id).split('.')[1] }));
      expect(await records(batch)).to.deep.equal(await records(one));
      expect((await redis.xrange(limited.keys(batch).outbox, '-', '+')).length, 'one outbox entry for the whole call').to.equal(1);
      expect(await redis.get(limited.keys(batch).depth)).to.equal('4');
    });

    it('writes each record as a compact line (q1 queued, r1 refused), JSON where a value would break a line; both give the full record', async () => {
      const eventId = randomUUID();
      const k = store.keys(eventId);
      await store.initStock(eventId, 'c1', 3, 4);
      const rs: AdmitRequest[] = [
        { ...request(eventId, 'c1', 1, 'user-a'), requestId: 'req-1' }, // queued, a line with its request id
        request(eventId, 'c1', 2, 'tab\tuser'), // queued, JSON
        request(eventId, 'c1', 5, 'user-b'), // out_of_stock at the door, a line
        { ...request(eventId, 'c1', 4, 'user-c'), requestId: 'new\nline' }, // out_of_stock, JSON
      ];
      const results = await store.admitBatch(eventId, rs);
      expect(results.map((r) => r.kind)).to.deep.equal(['admitted', 'admitted', 'out_of_stock', 'out_of_stock']);

      const [entry] = await redis.xrange(k.outbox, '-', '+');
      const lines = entry![1][entry![1].indexOf('snapshots') + 1]!.split('\n');
      // The two whose user id or request id holds a tab or a newline are JSON.
      expect(lines.map((l) => (l.startsWith('q1\t') ? 'q1' : l.startsWith('r1\t') ? 'r1' : l.startsWith('{') ? 'json' : l))).to.deep.equal(['q1', 'json', 'r1', 'json']);

      const records = outboxEntryRecords(entry![1]);
      expect(records.map((r) => r.type)).to.deep.equal(['reservation.queued', 'reservation.queued', 'request.refused', 'request.refused']);
      expect([records[0]!.requestId, records[2]!.requestId]).to.deep.equal(['req-1', undefined]);
      const parsed = records.map((r) => parseOutboxRecord(r.value));
      for (const p of parsed) expect(p.ok, JSON.stringify(p)).to.equal(true);
      const values = records.map((r) => JSON.parse(r.value) as Record<string, unknown>);
      const stored = (await store.read(rs[0]!.reservationId))!;
      expect(values[0]).to.deep.equal({
        schema: 1, type: 'reservation.queued', reservation_id: rs[0]!.reservationId, event_id: eventId, category_id: 'c1', category: 'VIP',
        user_id: 'user-a', qty: 1, status: 'queued', seq_arrival: 1, created_at: stored.createdAtMs, updated_at: stored.createdAtMs, version: 1,
        request_id: 'req-1',
      });
      expect(values[2]).to.deep.equal({
        schema: 1, type: 'request.refused', reservation_id: rs[2]!.reservationId, event_id: eventId, category_id: 'c1', user_id: 'user-b',
        qty: 5, seq_arrival: 3, reason: 'out_of_stock', received_at: stored.createdAtMs,
      });
      // The JSON ones (cjson) carry the same fields as the lines.
      const keys = (x: Record<string, unknown>) => Object.keys(x).filter((key) => key !== 'request_id').sort();
      expect(keys(values[1]!)).to.deep.equal(keys(values[0]!));
      expect(keys(values[3]!)).to.deep.equal(keys(values[2]!));
      expect(values[1]).to.include({ user_id: 'tab\tuser', qty: 2, seq_arrival: 2, version: 1, updated_at: stored.createdAtMs });
      expect(values[3]).to.include({ user_id: 'user-c', qty: 4, seq_arrival: 4, reason: 'out_of_stock', request_id: 'new\nline' });
    });

    it('refuses requests of another event than the batch names', async () => {
      const eventId = randomUUID();
      let error: unknown;
      await store.admitBatch(eventId, [request(randomUUID(), 'c1')]).catch((err: unknown) => { error = err; });
      expect(String(error)).to.contain('is not of event');
    });
  });

  describe('decideRequest', () => {
    it('holds seats when enough are available (code 1, reserved)', async () => {
      const eventId = randomUUID();
      await store.initStock(eventId, 'c1', 2, 4);
      const r = request(eventId, 'c1', 2);
      await store.admit(r);
      const decision = await store.decide(eventId, r.reservationId, 'c1');
      expect(decision).to.include({ kind: 'decided', status: 'reserved', seqDecision: 1 });
      if (decision.kind !== 'decided') throw new Error('unreachable');
      const [nowSec] = await redis.time();
      expect(decision.expiresAtMs).to.be.within(Number(nowSec) * 1000 + 55_000, Number(nowSec) * 1000 + 62_000);
      expect((await store.readStock(eventId, ['c1'])).get('c1')).to.deep.equal({ total: 2, available: 0, held: 2, confirmed: 0 });
      expect(await redis.zscore(store.keys(eventId).holds, r.reservationId)).to.equal(String(decision.expiresAtMs));
      expect(await redis.get(store.keys(eventId).depth)).to.equal('0');
      const events = await outbox(eventId);
      expect(events.at(-1)).to.deep.include({ type: 'reservation.reserved' });
      expect(events.at(-1)!.snapshot).to.include({ status: 'reserved', version: 2, seq_decision: 1, expires_at: decision.expiresAtMs });
    });

    it('rejects out_of_stock when the requests ahead took the seats (code 1, rejected)', async () => {
      const eventId = randomUUID();
      await store.initStock(eventId, 'c1', 1, 4);
      const ahead = request(eventId, 'c1', 1);
      const r = request(eventId, 'c1', 1, 'user-2');
      await store.admit(ahead);
      await store.admit(r);
      await store.decide(eventId, ahead.reservationId, 'c1');
      expect(await store.decide(eventId, r.reservationId, 'c1')).to.include({ kind: 'decided', status: 'rejected', reason: 'out_of_stock' });
      expect((await store.readStock(eventId, ['c1'])).get('c1')).to.include({ available: 0, held: 1 });
      expect((await outbox(eventId)).at(-1)!.snapshot).to.include({ status: 'rejected', reason: 'out_of_stock', version: 2 });
    });

    it('rejects sales_closed once the sale is closed, whatever the stock', async () => {
      const eventId = randomUUID();
      await store.initStock(eventId, 'c1', 5, 4);
      const r = request(eventId, 'c1');
      await store.admit(r);
      await store.writeEventSettings(eventId, { saleState: 'closed' }, true);
      expect(await store.decide(eventId, r.reservationId, 'c1')).to.include({ status: 'rejected', reason: 'sales_closed' });
      expect((await store.readStock(eventId, ['c1'])).get('c1')).to.include({ available: 5 });
    });

    it('rejects internal_error when the category has no stock in Redis', async () => {
      const eventId = randomUUID();
      await store.initStock(eventId, 'c1', 1, 4);
      const r = request(eventId, 'c1');
      await store.admit(r);
      expect(await store.decide(eventId, r.reservationId, 'gone')).to.include({ status: 'rejected', reason: 'internal_error' });
    });

    it('a second run of the same reservation returns the first decision unchanged (code 2)', async () => {
      const eventId = randomUUID();
      await store.initStock(eventId, 'c1', 1, 4);
      const r = request(eventId, 'c1');
      await store.admit(r);
      const first = await store.decide(eventId, r.reservationId, 'c1');
      const before = { stock: await store.readStock(eventId, ['c1']), outbox: await outbox(eventId), res: await store.read(r.reservationId) };
      const second = await store.decide(eventId, r.reservationId, 'c1');
      expect(second).to.deep.equal({ ...first, kind: 'already_decided' });
      expect(await store.readStock(eventId, ['c1'])).to.deep.equal(before.stock);
      expect(await outbox(eventId)).to.deep.equal(before.outbox);
      expect(await store.read(r.reservationId)).to.deep.equal(before.res);
      expect(await redis.get(store.keys(eventId).decided)).to.equal('1');
    });

    it('answers unknown for a reservation that does not exist (code 0)', async () => {
      const eventId = randomUUID();
      expect(await store.decide(eventId, newReservationId(eventId, randomUUID()), 'c1')).to.deep.equal({ kind: 'unknown_reservation' });
    });

    it('decisions in arrival order give the seats to the first arrivals', async () => {
      const eventId = randomUUID();
      await store.initStock(eventId, 'c1', 3, 4);
      const requests = Array.from({ length: 6 }, () => request(eventId, 'c1'));
      for (const r of requests) await store.admit(r);
      const statuses = [];
      for (const r of requests) statuses.push((await store.decide(eventId, r.reservationId, 'c1')).kind === 'decided' && (await store.read(r.reservationId))!.status);
      expect(statuses).to.deep.equal(['reserved', 'reserved', 'reserved', 'rejected', 'rejected', 'rejected']);
    });
  });

  describe('decideBatch: one call, its shared counters and its outbox records', () => {
    it('decides in arrival order with users read once; each record (compact line or JSON) is the full snapshot', async () => {
      const eventId = randomUUID();
      const k = store.keys(eventId);
      await store.initStock(eventId, 'c1', 3, 2);
      await redis.set(k.lease, '1:s');
      // user-a twice (the second within the cap), user-b over the cap on its third seat, a user id with a
      // tab and one with a newline (their records fall back to JSON), then one left without a seat.
      const rs = [
        request(eventId, 'c1', 1, 'user-a'), request(eventId, 'c1', 1, 'user-a'), request(eventId, 'c1', 3, 'user-b'),
        request(eventId, 'c1', 1, 'tab\tuser'), request(eventId, 'c1', 1, 'new\nline'), request(eventId, 'c1', 1, 'user-c'),
      ];
      for (const r of rs) await store.admit(r);
      expect(await redis.hget(k.queuedByUser, 'user-a')).to.equal('2');
      expect(await store.decideUpTo(eventId, 6, '1:s', 200)).to.deep.equal({ kind: 'decided', decided: 6, through: 6 });

      const statuses = await Promise.all(rs.map(async (r) => { const x = (await store.read(r.reservationId))!; return [x.status, x.reason ?? null, x.seqDecision]; }));
      expect(statuses).to.deep.equal([
        ['reserved', null, 1], ['reserved', null, 2], ['rejected', 'limit_exceeded', 3],
        ['reserved', null, 4], ['rejected', 'out_of_stock', 5], ['rejected', 'out_of_stock', 6],
      ]);
      expect(await redis.hgetall(k.users)).to.deep.equal({ 'user-a': '2', 'tab\tuser': '1' });
      expect(await redis.hlen(k.queuedByUser)).to.equal(0);
      expect((await store.readStock(eventId, ['c1'])).get('c1')).to.include({ available: 0, held: 3 });
      expect(await redis.zcard(k.holds)).to.equal(3);

      // One outbox entry for the call (after the admissions' entries): compact lines, and JSON for the
      // two users whose ids would break a line.
      const entries = await redis.xrange(k.outbox, '-', '+');
      const batch = entries.filter(([, f]) => f.includes('snapshots')).at(-1)!;
      const lines = batch[1][batch[1].indexOf('snapshots') + 1]!.split('\n');
      expect(lines.map((l) => (l.startsWith('d1\t') ? 'line' : l.startsWith('{') ? 'json' : l))).to.deep.equal(['line', 'line', 'line', 'json', 'json', 'line']);
      const decisions = outboxEntryRecords(batch[1]);
      const parsed = decisions.map((d) => parseOutboxRecord(d.value));
      for (const p of parsed) expect(p.ok, JSON.stringify(p)).to.equal(true);
      const snapshots = parsed.map((p) => (p.ok ? p.value.value : null)) as unknown as Record<string, unknown>[];
      const keys = (x: Record<string, unknown>) => Object.keys(x).filter((key) => key !== 'expires_at' && key !== 'reason').sort();
      for (const x of snapshots) expect(keys(x)).to.deep.equal(keys(snapshots[3]!));
      expect(decisions.map((d) => d.type)).to.deep.equal(['reservation.reserved', 'reservation.reserved', 'reservation.rejected', 'reservation.reserved', 'reservation.rejected', 'reservation.rejected']);
      const [first] = snapshots;
      const stored = (await store.read(rs[0]!.reservationId))!;
      expect(first).to.deep.equal({
        schema: 1, type: 'reservation.reserved', reservation_id: rs[0]!.reservationId, event_id: eventId, category_id: 'c1', category: 'VIP',
        user_id: 'user-a', qty: 1, seq_arrival: 1, created_at: first!.created_at, status: 'reserved', seq_decision: 1,
        decided_at: first!.decided_at, updated_at: first!.decided_at, version: 2, expires_at: stored.expiresAtMs,
      });
      expect(snapshots[3]).to.include({ user_id: 'tab\tuser', status: 'reserved', seq_decision: 4, version: 2 });
      expect(snapshots[2]).to.include({ user_id: 'user-b', status: 'rejected', reason: 'limit_exceeded' });
    });
  });

  describe('lottery: decideBatch and drawLottery', () => {
    it('decides nothing in the window, draws the window once with the seed, then decides draws first and later arrivals after', async () => {
      const eventId = randomUUID();
      const k = store.keys(eventId);
      await store.initStock(eventId, 'c1', 3, 4);
      const opensAt = Date.now();
      await store.writeEventSettings(eventId, { salesOpenAtMs: opensAt, lotteryWindowMs: 600, lotterySeed: 99 }, true);
      const lease = '1:test-shard';
      await redis.set(k.lease, lease);

      const inWindow = [];
      for (let i = 0; i < 6; i++) inWindow.push(request(eventId, 'c1', 1, `w${i}`));
      for (const r of inWindow) expect(await store.admit(r)).to.include({ kind: 'admitted', position: null });
      const waiting = await store.decideUpTo(eventId, 6, lease, 200);
      expect(waiting).to.include({ kind: 'lottery_window', decided: 0 });
      if (waiting.kind === 'lottery_window') expect(waiting.waitMs).to.be.within(1, 600);
      expect(await store.drawLottery(eventId, lease)).to.equal('window_open');
      expect((await store.read(inWindow[0]!.reservationId))!.position).to.equal(undefined);

      await waitFor('the window to close', async () => Date.now() > opensAt + 650 || undefined);
      const later = [request(eventId, 'c1', 1, 'l1'), request(eventId, 'c1', 1, 'l2')];
      expect(await store.admit(later[0]!)).to.include({ kind: 'admitted', position: 6 });
      expect(await store.admit(later[1]!)).to.include({ kind: 'admitted', position: 7 });
      expect(await store.drawLottery(eventId, '2:someone-else')).to.equal('fenced');
      expect(await store.drawLottery(eventId, lease)).to.equal('drawn');
      expect(await store.drawLottery(eventId, lease)).to.equal('drawn'); // once only: nothing changes
      expect(await store.lotteryDraw(eventId)).to.deep.equal({ isDrawn: true, drawnCount: 6 });

      const draw = drawOrder(6, 99);
      const positions = await Promise.all(inWindow.map(async (r) => (await store.read(r.reservationId))!.position));
      expect(positions).to.deep.equal([...draw].map((d) => d - 1));

      expect(await store.decideUpTo(eventId, 8, lease, 200)).to.deep.equal({ kind: 'decided', decided: 8, through: 0 });
      const decided = await Promise.all(inWindow.map((r) => store.read(r.reservationId)));
      expect(decided.map((r) => r!.seqDecision)).to.deep.equal([...draw]);
      expect(decided.map((r) => r!.status)).to.deep.equal([...draw].map((d) => (d <= 3 ? 'reserved' : 'rejected')));
      const after = await Promise.all(later.map((r) => store.read(r.reservationId)));
      expect(after.map((r) => [r!.seqDecision, r!.status])).to.deep.equal([[7, 'rejected'], [8, 'rejected']]);
      // The decision snapshots carry the draw number to PostgreSQL.
      const snapshots = (await outbox(eventId)).filter((e) => e.type !== 'reservation.queued').map((e) => e.snapshot);
      expect(snapshots.filter((x) => x.draw_no !== undefined).map((x) => x.draw_no)).to.deep.equal([1, 2, 3, 4, 5, 6]);
    });

    it('a lottery window with no admitted request needs no draw', async () => {
      const eventId = randomUUID();
      await store.initStock(eventId, 'c1', 3, 4);
      await store.writeEventSettings(eventId, { salesOpenAtMs: Date.now() - 10_000, lotteryWindowMs: 1_000, lotterySeed: 1 }, true);
      await redis.set(store.keys(eventId).lease, '1:s');
      const r = request(eventId, 'c1');
      expect(await store.admit(r)).to.include({ kind: 'admitted', position: 0 });
      expect(await store.decideUpTo(eventId, 1, '1:s', 200)).to.deep.equal({ kind: 'decided', decided: 1, through: 0 });
      expect(await store.lotteryDraw(eventId)).to.deep.equal({ isDrawn: true, drawnCount: 0 });
    });
  });

  describe('abandon', () => {
    it('rejects an admitted request internal_error and releases its place in the depth count', async () => {
      const eventId = randomUUID();
      await store.initStock(eventId, 'c1', 1, 4);
      const r = request(eventId, 'c1');
      await store.admit(r);
      await store.abandon(eventId, r.reservationId);
      expect(await store.read(r.reservationId)).to.include({ status: 'rejected', reason: 'internal_error' });
      expect(await redis.get(store.keys(eventId).depth)).to.equal('0');
      expect((await store.readStock(eventId, ['c1'])).get('c1')).to.include({ available: 1 });
    });
  });
});
