import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { newReservationId } from '../../core/keys.ts';
import { createRedis } from '../../core/redis.ts';
import { ReservationStore } from '../../core/reservation-store.ts';
import { deleteTestKeys, testConfig, testLogger } from '../../test/support/env.ts';
import { decideJob } from './decide-job.ts';

// The Worker's processor against the real Redis, given job objects as BullMQ hands them over.
describe('decideJob', () => {
  const config = testConfig();
  let redis: Redis;
  let store: ReservationStore;
  let processJob: ReturnType<typeof decideJob>;

  before(() => {
    redis = createRedis(config.redisUrl, testLogger());
    store = new ReservationStore(redis, { keyPrefix: config.keyPrefix, holdTtlMs: 60_000, retentionMs: 60_000 });
    processJob = decideJob(store, testLogger());
  });
  after(async () => {
    await redis.quit();
    await deleteTestKeys(config);
  });

  const job = (data: unknown) => ({ id: 'job-1', data }) as Job;

  async function admitted(eventId: string) {
    await store.initStock(eventId, 'c1', 1, 4);
    const reservationId = newReservationId(eventId, randomUUID());
    await store.admit({ reservationId, userId: 'u', eventId, categoryId: 'c1', categoryName: 'A', qty: 1 });
    return reservationId;
  }

  it('decides a well-formed job and reports the outcome; running it again reports the same outcome', async () => {
    const eventId = randomUUID();
    const reservationId = await admitted(eventId);
    const data = { reservation_id: reservationId, event_id: eventId, category_id: 'c1', seq_arrival: 1 };
    expect(await processJob(job(data))).to.deep.equal({ status: 'reserved' });
    expect(await processJob(job(data))).to.deep.equal({ status: 'reserved' });
    expect((await store.readStock(eventId, ['c1'])).get('c1')).to.include({ available: 0, held: 1 });
  });

  it('a malformed job that names a reservation rejects it internal_error instead of leaving it queued', async () => {
    const eventId = randomUUID();
    const reservationId = await admitted(eventId);
    expect(await processJob(job({ reservation_id: reservationId, event_id: eventId, seq_arrival: 'first' }))).to.deep.equal({ status: 'malformed' });
    expect(await store.read(reservationId)).to.include({ status: 'rejected', reason: 'internal_error' });
    expect((await store.readStock(eventId, ['c1'])).get('c1')).to.include({ available: 1 });
  });

  it('a job naming nothing is completed as malformed, and one naming an unknown reservation as unknown', async () => {
    expect(await processJob(job({ hello: 'world' }))).to.deep.equal({ status: 'malformed' });
    const eventId = randomUUID();
    const unknown = { reservation_id: newReservationId(eventId, randomUUID()), event_id: eventId, category_id: 'c1', seq_arrival: 3 };
    expect(await processJob(job(unknown))).to.deep.equal({ status: 'unknown' });
  });
});
