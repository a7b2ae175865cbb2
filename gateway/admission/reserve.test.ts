import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { AppError } from '../../core/errors.ts';
import { createRedis } from '../../core/redis.ts';
import { ReservationStore } from '../../core/reservation-store.ts';
import { deleteTestKeys, testConfig, testLogger } from '../../test/support/env.ts';
import type { CategoryRow, EventWithCategories } from '../catalog/catalog.ts';
import { reserve, type AdmissionDeps } from './reserve.ts';

// Admission against the real Redis; the queue is the injected fault (it refuses the job).
describe('admission', () => {
  const config = testConfig();
  let redis: Redis;
  let store: ReservationStore;

  before(() => {
    redis = createRedis(config.redisUrl, testLogger());
    store = new ReservationStore(redis, { keyPrefix: config.keyPrefix, holdTtlMs: 60_000, retentionMs: 60_000 });
  });
  after(async () => {
    await redis.quit();
    await deleteTestKeys(config);
  });

  function deps(eventId: string, enqueue: AdmissionDeps['enqueue']): AdmissionDeps {
    const category: CategoryRow = { id: randomUUID(), eventId, name: 'VIP', nameKey: 'vip', totalStock: 5, price: 1 };
    const event: EventWithCategories = {
      id: eventId, name: 'E', date: new Date(), maxPerUser: 4, salesOpenAt: null, salesCloseAt: null, saleState: null, maxDepth: null, admission: { mode: 'fifo' }, createdAt: new Date(), categories: [category],
    };
    return {
      resolve: async () => ({ event, category }),
      repairStock: async (c) => { await store.initStock(eventId, c.id, c.totalStock, 4); },
      admit: (r) => store.admit(r),
      abandon: (e, r) => store.abandon(e, r),
      enqueue,
      newId: () => 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
    };
  }

  it('when the job cannot be queued, the caller gets 503 and the admission is undone (rejected internal_error, depth 0)', async () => {
    const eventId = randomUUID();
    let error: unknown;
    try {
      await reserve(deps(eventId, async () => { throw new Error('queue down'); }), 'u1', { event_id: eventId, category: 'VIP', qty: 1 });
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(AppError).and.include({ code: 'service_unavailable', status: 503 });
    const reservation = await store.read(`${eventId}.aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee`);
    expect(reservation).to.include({ status: 'rejected', reason: 'internal_error' });
    expect(await redis.get(store.keys(eventId).depth)).to.equal('0');
  });

  it('a category missing in Redis is initialised from the catalogue before admission', async () => {
    const eventId = randomUUID();
    const queued: string[] = [];
    const admitted = await reserve(deps(eventId, async (_eventId, request) => { queued.push(request.reservation_id); }), 'u1', { event_id: eventId, category: 'VIP', qty: 2 });
    expect(queued).to.deep.equal([admitted.reservationId]);
    expect(admitted).to.include({ position: 0, seqArrival: 1 });
  });

  it('a replay (idempotency key) whose enqueue fails gets 503 but does not undo the original admission', async () => {
    const eventId = randomUUID();
    const id = `${eventId}.aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee`;
    await reserve(deps(eventId, async () => {}), 'u1', { event_id: eventId, category: 'VIP', qty: 1 });
    let error: unknown;
    try {
      await reserve(deps(eventId, async () => { throw new Error('queue down'); }), 'u1', { event_id: eventId, category: 'VIP', qty: 1 }, { claim: async () => id });
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(AppError).and.include({ code: 'service_unavailable' });
    expect(await store.read(id)).to.include({ status: 'queued' });
    expect(await redis.get(store.keys(eventId).depth)).to.equal('1');
  });
});
