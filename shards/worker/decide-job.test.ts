import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { outboxEntryRecords, parseSnapshot } from '../../core/contracts.ts';
import { newReservationId, reserveQueueName } from '../../core/keys.ts';
import { createRedis, Scripts } from '../../core/redis.ts';
import { ReservationStore } from '../../core/reservation-store.ts';
import { deleteTestKeys, testConfig, testLogger, waitFor } from '../../test/support/env.ts';
import { decideJob } from './decide-job.ts';

// The Worker's processor against the real Redis, given job objects as BullMQ hands them over.
describe('decideJob', () => {
  const config = testConfig();
  let redis: Redis;
  let store: ReservationStore;
  let scripts: Scripts;
  const leases = new Map<string, string>();
  const fenced: string[] = [];
  let processJob: ReturnType<typeof decideJob>;

  before(() => {
    redis = createRedis(config.redisUrl, testLogger());
    store = new ReservationStore(redis, { keyPrefix: config.keyPrefix, holdTtlMs: 60_000, retentionMs: 60_000 });
    scripts = new Scripts(redis);
    processJob = decideJob(store, { decisionsPerCall: 200, leaseOf: (e) => leases.get(e), fenced: (e) => fenced.push(e) }, testLogger());
  });
  after(async () => {
    await redis.quit();
    await deleteTestKeys(config);
  });

  const job = (data: unknown) => ({ id: 'job-1', data }) as Job;

  async function takeLease(eventId: string, shardId = 'shard-a'): Promise<string> {
    const k = store.keys(eventId);
    const [code, value] = (await scripts.run('acquireLease', [k.lease, k.fence], [shardId, 60_000, ''])) as [number, string];
    expect(code).to.equal(1);
    return value;
  }

  async function admit(eventId: string, n: number, stock: number): Promise<{ id: string; seq: number }[]> {
    await store.initStock(eventId, 'c1', stock, 4);
    const out: { id: string; seq: number }[] = [];
    for (let i = 0; i < n; i++) {
      const id = newReservationId(eventId, randomUUID());
      const r = await store.admit({ reservationId: id, userId: `u${i}`, eventId, categoryId: 'c1', categoryName: 'A', qty: 1 });
      if (r.kind !== 'admitted') throw new Error(r.kind);
      out.push({ id, seq: r.seqArrival });
    }
    return out;
  }

  it('decides a batch and every earlier pending arrival, in arrival order; a re-run decides nothing', async () => {
    const eventId = randomUUID();
    leases.set(eventId, await takeLease(eventId));
    const requests = await admit(eventId, 6, 3);
    // A later gateway's batch (arrivals 4-6) runs before the batch holding 1-3: 1-3 still win.
    const late = { event_id: eventId, requests: requests.slice(3).map((r) => ({ reservation_id: r.id, seq_arrival: r.seq })) };
    expect(await processJob(job(late))).to.deep.equal({ status: 'decided', decided: 6 });
    const states = await Promise.all(requests.map(async (r) => (await store.read(r.id))!));
    expect(states.map((s) => s.status)).to.deep.equal(['reserved', 'reserved', 'reserved', 'rejected', 'rejected', 'rejected']);
    expect(states.map((s) => s.seqDecision), 'decided in arrival order').to.deep.equal([1, 2, 3, 4, 5, 6]);
    const early = { event_id: eventId, requests: requests.slice(0, 3).map((r) => ({ reservation_id: r.id, seq_arrival: r.seq })) };
    expect(await processJob(job(early))).to.deep.equal({ status: 'decided', decided: 0 });
    expect(await processJob(job(late))).to.deep.equal({ status: 'decided', decided: 0 });
    expect((await store.readStock(eventId, ['c1'])).get('c1')).to.include({ available: 0, held: 3 });
    // Every snapshot in the outbox (6 queued, 6 decided) is one the persister accepts.
    const records = (await redis.xrange(store.keys(eventId).outbox, '-', '+')).flatMap(([, fields]) => outboxEntryRecords(fields));
    expect(records.map((r) => r.type)).to.deep.equal([...Array(6).fill('reservation.queued'), ...Array(3).fill('reservation.reserved'), ...Array(3).fill('reservation.rejected')]);
    for (const r of records) expect(parseSnapshot(r.value), r.value).to.include({ ok: true });
  });

  it('decides a deep queue decisionsPerCall at a time, past the batch; a job whose batch is decided needs no script call', async () => {
    const eventId = randomUUID();
    leases.set(eventId, await takeLease(eventId));
    const process4 = decideJob(store, { decisionsPerCall: 4, leaseOf: (e) => leases.get(e), fenced: (e) => fenced.push(e) }, testLogger());
    const rs = await admit(eventId, 10, 5);
    const batch = (from: number, to: number) => job({ event_id: eventId, requests: rs.slice(from, to).map((r) => ({ reservation_id: r.id, seq_arrival: r.seq })) });
    const statuses = async () => Promise.all(rs.map(async (r) => (await store.read(r.id))!.status));

    // Arrivals 1-2: one call decides the four lowest, past the batch.
    expect(await process4(batch(0, 2))).to.deep.equal({ status: 'decided', decided: 4 });
    expect(await statuses()).to.deep.equal([...Array(4).fill('reserved'), ...Array(6).fill('queued')]);
    // Arrivals 3-5: 5 is not decided yet, so a call decides the next four (5-8).
    expect(await process4(batch(2, 5))).to.deep.equal({ status: 'decided', decided: 4 });
    // Arrivals 6-8 are decided: no call (a call would have decided 9 and 10, the lowest left).
    expect(await process4(batch(5, 8))).to.deep.equal({ status: 'decided', decided: 0 });
    expect((await statuses()).slice(8)).to.deep.equal(['queued', 'queued']);
    expect(await process4(batch(8, 10))).to.deep.equal({ status: 'decided', decided: 2 });
    const decided = await Promise.all(rs.map(async (r) => (await store.read(r.id))!));
    expect(decided.map((r) => r.seqDecision), 'in arrival order').to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(decided.map((r) => r.status)).to.deep.equal([...Array(5).fill('reserved'), ...Array(5).fill('rejected')]);
    expect(await redis.get(store.keys(eventId).depth)).to.equal('0');
  });

  it('a malformed job that names requests rejects them internal_error instead of leaving them queued', async () => {
    const eventId = randomUUID();
    const [r] = await admit(eventId, 1, 1);
    expect(await processJob(job({ event_id: eventId, requests: [{ reservation_id: r!.id, seq_arrival: 'first' }] }))).to.deep.equal({ status: 'malformed', decided: 0 });
    expect(await store.read(r!.id)).to.include({ status: 'rejected', reason: 'internal_error' });
    expect((await store.readStock(eventId, ['c1'])).get('c1')).to.include({ available: 1 });
    expect(await processJob(job({ hello: 'world' }))).to.deep.equal({ status: 'malformed', decided: 0 });
  });

  it('fenced: with a lease that is not the current one nothing is decided, and the job goes back to wait (neither completed nor failed)', async () => {
    const eventId = randomUUID();
    const stale = await takeLease(eventId, 'old-owner');
    await redis.del(store.keys(eventId).lease);
    const current = await takeLease(eventId, 'new-owner');
    expect(Number(current.split(':')[0]), 'the new token is higher').to.be.greaterThan(Number(stale.split(':')[0]));
    leases.set(eventId, stale);
    const [r] = await admit(eventId, 1, 1);

    const queue = new Queue(reserveQueueName(eventId), { connection: redis, prefix: config.queuePrefix });
    const added = await queue.add('reserve', { event_id: eventId, requests: [{ reservation_id: r!.id, seq_arrival: r!.seq }] }, { attempts: 3 });
    const failed: string[] = [];
    const completed: string[] = [];
    const workerConnection = createRedis(config.redisUrl, testLogger(), { maxRetriesPerRequest: null });
    const worker = new Worker(queue.name, processJob, { connection: workerConnection, prefix: config.queuePrefix });
    worker.on('failed', (j) => failed.push(String(j?.id)));
    worker.on('completed', (j) => completed.push(String(j.id)));
    await waitFor('the shard to notice it is fenced', () => fenced.includes(eventId));
    await worker.close();
    await workerConnection.quit();
    const state = await waitFor('the job back in wait', async () => ((await added.getState()) === 'waiting' ? 'waiting' : undefined));
    expect(state).to.equal('waiting');
    expect(failed).to.deep.equal([]);
    expect(completed).to.deep.equal([]);
    expect((await queue.getJob(added.id!))!.attemptsMade, 'no attempt used').to.equal(0);
    expect(await store.read(r!.id)).to.include({ status: 'queued' });
    expect((await store.readStock(eventId, ['c1'])).get('c1')).to.include({ available: 1, held: 0 });

    // The current owner decides it.
    leases.set(eventId, current);
    expect(await processJob(job((await queue.getJob(added.id!))!.data))).to.deep.equal({ status: 'decided', decided: 1 });
    expect(await store.read(r!.id)).to.include({ status: 'reserved' });
    await queue.close();
  });
});
