import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { newReservationId, reserveQueueName } from '../../core/keys.ts';
import { createRedis } from '../../core/redis.ts';
import { ReservationStore } from '../../core/reservation-store.ts';
import { deleteTestKeys, testConfig, testLogger, waitFor } from '../../test/support/env.ts';
import { StrandedSweeper } from './stranded-sweeper.ts';

// Against the real Redis and BullMQ: admitted requests whose job never reached the queue (a gateway that
// died in between), with and without a later job in the queue.
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

  const hasJobs = async () => (await queue.getJobCountByTypes('wait', 'active', 'delayed', 'prioritized')) > 0;

  it('leaves pending requests alone while the queue holds a job (a job decides every earlier arrival)', async () => {
    const stranded = newReservationId(eventId, randomUUID());
    const queued = newReservationId(eventId, randomUUID());
    await store.admit({ reservationId: stranded, userId: 'u1', eventId, categoryId: 'c1', categoryName: 'A', qty: 1 });
    const second = await store.admit({ reservationId: queued, userId: 'u2', eventId, categoryId: 'c1', categoryName: 'A', qty: 1 });
    if (second.kind !== 'admitted') throw new Error(second.kind);
    const job = await queue.add('reserve', { event_id: eventId, requests: [{ reservation_id: queued, seq_arrival: second.seqArrival }] });

    const sweeper = new StrandedSweeper(store, hasJobs, { intervalMs: 50, graceMs: 100 }, testLogger());
    sweeper.setEvents([eventId]);
    expect(await sweeper.sweep(), 'nothing is older than the grace yet').to.equal(0);
    await waitFor('both to pass the grace', async () => (await store.pendingSince(eventId, Date.now() - 100, 10)).length === 2);
    expect(await sweeper.sweep(), 'a job is queued').to.equal(0);

    // Once the queue is empty (say the job was taken out), nothing can decide them: both are released.
    await job.remove();
    expect(await sweeper.sweep()).to.equal(2);
    expect(await store.read(stranded)).to.include({ status: 'rejected', reason: 'internal_error' });
    expect(await store.read(queued)).to.include({ status: 'rejected', reason: 'internal_error' });
    expect(await redis.get(store.keys(eventId).depth)).to.equal('0');
    expect(await store.pendingSince(eventId, Date.now() + 1_000, 10)).to.deep.equal([]);
  });

  it('releases a stranded request found by the periodic sweep', async () => {
    const stranded = newReservationId(eventId, randomUUID());
    await store.admit({ reservationId: stranded, userId: 'u3', eventId, categoryId: 'c1', categoryName: 'A', qty: 1 });
    const sweeper = new StrandedSweeper(store, hasJobs, { intervalMs: 50, graceMs: 100 }, testLogger());
    sweeper.setEvents([eventId]);
    sweeper.start();
    await waitFor('the stranded request to be released', () => sweeper.released === 1 || undefined);
    await sweeper.close();
    expect(await store.read(stranded)).to.include({ status: 'rejected', reason: 'internal_error' });
  });
});
