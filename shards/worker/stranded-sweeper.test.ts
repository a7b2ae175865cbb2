import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { newReservationId, reserveQueueName } from '../../core/keys.ts';
import { createRedis } from '../../core/redis.ts';
import { ReservationStore } from '../../core/reservation-store.ts';
import { deleteTestKeys, testConfig, testLogger, waitFor } from '../../test/support/env.ts';
import { StrandedSweeper } from './stranded-sweeper.ts';

// Against the real Redis and BullMQ: one admitted request whose job never reached the queue (a gateway
// that died in between), one whose job is waiting.
describe('stranded-job sweeper', () => {
  const config = testConfig();
  let redis: Redis;
  let store: ReservationStore;
  let queue: Queue;
  const eventId = randomUUID();

  before(async () => {
    redis = createRedis(config.redisUrl, testLogger());
    store = new ReservationStore(redis, { keyPrefix: config.keyPrefix, holdTtlMs: 60_000, retentionMs: 60_000 });
    queue = new Queue(reserveQueueName(eventId), { connection: redis, prefix: config.queuePrefix });
    await store.initStock(eventId, 'c1', 5, 4);
  });
  after(async () => {
    await queue.close();
    await redis.quit();
    await deleteTestKeys(config);
  });

  it('releases an admitted request that has no job (rejected internal_error, depth freed) and leaves one with a job alone', async () => {
    const stranded = newReservationId(eventId, randomUUID());
    const waiting = newReservationId(eventId, randomUUID());
    await store.admit({ reservationId: stranded, userId: 'u1', eventId, categoryId: 'c1', categoryName: 'A', qty: 1 });
    await store.admit({ reservationId: waiting, userId: 'u2', eventId, categoryId: 'c1', categoryName: 'A', qty: 1 });
    await queue.add('reserve', { reservation_id: waiting, event_id: eventId, category_id: 'c1', seq_arrival: 2 }, { jobId: waiting });

    const sweeper = new StrandedSweeper(store, () => queue, { intervalMs: 50, graceMs: 100 }, testLogger());
    sweeper.setEvents([eventId]);
    expect(await sweeper.sweep(), 'nothing is older than the grace yet').to.equal(0);
    sweeper.start();
    await waitFor('the stranded request to be released', () => sweeper.released === 1 || undefined);
    await sweeper.close();

    expect(await store.read(stranded)).to.include({ status: 'rejected', reason: 'internal_error' });
    expect(await store.read(waiting)).to.include({ status: 'queued' });
    expect(await redis.get(store.keys(eventId).depth)).to.equal('1');
    expect(await store.pendingSince(eventId, Date.now() + 1_000, 10)).to.deep.equal([waiting]);
  });
});
