import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { Queue } from 'bullmq';
import type pg from 'pg';
import { createPool } from '../core/pg.ts';
import { createRedis } from '../core/redis.ts';
import { reserveQueueName } from '../core/keys.ts';
import { ReservationStore } from '../core/reservation-store.ts';
import { testLogger, waitFor } from './support/env.ts';
import { seedEvent, startTestStack, type TestStack } from './support/stack.ts';

// The reserve path end to end: gateway, shard and persister on the real Redis, Kafka and PostgreSQL.
describe('reserve path end to end', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let db: pg.Pool;

  before(async () => {
    stack = await startTestStack({ gateway: true, shard: true, persister: true });
    db = createPool(stack.config.databaseUrl, testLogger());
  });
  after(async () => {
    await db.end();
    await stack.close();
  });

  it('500 concurrent reserves from 500 users for 100 seats: exactly 100 reserved, the rest out_of_stock (by the decision or at the door), and Postgres agrees', async () => {
    const { eventId } = await seedEvent(stack, { total_stock: 100 });
    const responses = await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        stack.http('POST', '/reserve', { token: stack.token('user', `buyer-${i}`), body: { event_id: eventId, category: 'VIP', qty: 1 } }),
      ),
    );
    // Admitted (202), or refused at the door once no seat is left (409 out_of_stock, nothing queued).
    const admitted = responses.filter((r) => r.status === 202);
    const refusedAtDoor = responses.filter((r) => r.status === 409);
    expect(admitted.length + refusedAtDoor.length, JSON.stringify(responses.find((r) => ![202, 409].includes(r.status))?.body)).to.equal(500);
    expect(refusedAtDoor.every((r) => r.body.code === 'out_of_stock')).to.equal(true);
    expect(admitted.length).to.be.at.least(100);
    expect(new Set(admitted.map((r) => r.body.position as number)).size, 'positions are distinct').to.be.greaterThan(1);

    const ids = admitted.map((r) => r.body.reservation_id as string);
    const owner = new Map(responses.map((r, i) => [r.body.reservation_id as string, `buyer-${i}`]));
    // Wait on the decision counter (one Redis read per poll), then read every reservation over HTTP once.
    const redis = createRedis(stack.config.redisUrl, testLogger());
    const store = new ReservationStore(redis, { keyPrefix: stack.config.keyPrefix, holdTtlMs: 1, retentionMs: 1 });
    await waitFor('every admitted request decided', async () => Number(await redis.get(store.keys(eventId).decided)) === ids.length || undefined, 60_000);
    const final = await Promise.all(ids.map((id) => stack.http('GET', `/reservations/${id}`, { token: stack.token('user', owner.get(id)!) })));
    const reserved = final.filter((p) => p.body.status === 'reserved');
    const rejected = final.filter((p) => p.body.status === 'rejected');
    expect(reserved).to.have.length(100);
    expect(rejected.length + refusedAtDoor.length, 'everyone else was refused out_of_stock').to.equal(400);
    expect(rejected.every((p) => p.body.reason === 'out_of_stock')).to.equal(true);

    const availability = await stack.http('GET', `/events/${eventId}/availability`);
    expect(availability.body.categories[0]).to.include({ total_stock: 100, available: 0, held: 100 });

    // First come, first served within one gateway: the winners are exactly the first 100 arrivals.
    const stored = await Promise.all(ids.map((id) => store.read(id)));
    await redis.quit();
    // (A request refused at the door arrived after the last seat was held, so after every winner.)
    const winnersBySeq = stored.filter((r) => r!.status === 'reserved').map((r) => r!.seqArrival).sort((a, b) => a - b);
    expect(winnersBySeq).to.deep.equal(Array.from({ length: 100 }, (_, i) => i + 1));

    const expected = new Map(final.map((p) => [p.body.reservation_id as string, p.body.status as string]));
    const rows = await waitFor('Postgres to hold every admitted request with its decided status', async () => {
      const { rows } = await db.query<{ id: string; status: string; version: number }>('SELECT id, status, version FROM reservations WHERE event_id = $1', [eventId]);
      return rows.length === ids.length && rows.every((r) => expected.get(r.id) === r.status) ? rows : undefined;
    }, 60_000);
    expect(rows.filter((r) => r.status === 'reserved')).to.have.length(100);
    expect(rows.every((r) => r.version === 2)).to.equal(true);
  });

  it('the same job run twice through the queue changes nothing', async () => {
    const { eventId } = await seedEvent(stack, { total_stock: 1 });
    const token = stack.token('user', 'twice');
    const admitted = await stack.http('POST', '/reserve', { token, body: { event_id: eventId, category: 'VIP', qty: 1 } });
    const id = admitted.body.reservation_id as string;
    const first = await waitFor('the decision', async () => {
      const r = await stack.http('GET', `/reservations/${id}`, { token });
      return r.body.status !== 'queued' ? r.body : undefined;
    });
    expect(first.status).to.equal('reserved');
    await waitFor('the outbox to drain', () => stack.shard!.relay.published >= 2 || undefined);

    // Re-run: the same job (same id and payload) queued again, as after a crash before completion.
    const queue = new Queue(reserveQueueName(eventId), { connection: { url: stack.config.redisUrl }, prefix: stack.config.queuePrefix });
    const job = await queue.add('reserve', { event_id: eventId, requests: [{ reservation_id: id, seq_arrival: 1 }] }, { jobId: 're-run' });
    const outcome = await waitFor('the re-run to complete', async () => ((await job.isCompleted()) ? (await queue.getJob('re-run'))?.returnvalue : undefined));
    await queue.close();
    expect(outcome, 'the re-run decides nothing').to.deep.equal({ status: 'decided', decided: 0 });

    const after = await stack.http('GET', `/reservations/${id}`, { token });
    expect(after.body).to.deep.equal(first);
    const availability = await stack.http('GET', `/events/${eventId}/availability`);
    expect(availability.body.categories[0]).to.include({ available: 0, held: 1 });
    const { rows } = await waitFor('the row', async () => {
      const r = await db.query('SELECT status, version FROM reservations WHERE id = $1', [id]);
      return r.rows.length === 1 && r.rows[0].version === 2 ? r : undefined;
    });
    expect(rows[0]).to.deep.equal({ status: 'reserved', version: 2 });
  });

  it('a job whose decision keeps failing is, once out of attempts, rejected internal_error rather than left queued', async () => {
    const { eventId, categoryId } = await seedEvent(stack, { total_stock: 3 });
    const redis = createRedis(stack.config.redisUrl, testLogger());
    const store = new ReservationStore(redis, { keyPrefix: stack.config.keyPrefix, holdTtlMs: 60_000, retentionMs: 60_000 });
    const id = `${eventId}.${randomUUID()}`;
    await store.admit({ reservationId: id, userId: 'broken', eventId, categoryId, categoryName: 'VIP', qty: 1 });
    // A lease key of the wrong type makes the decision script fail (before any write) on every attempt.
    const leaseKey = store.keys(eventId).lease;
    await waitFor('the shard to own the event', async () => (await redis.exists(leaseKey)) === 1);
    await redis.del(leaseKey);
    await redis.hset(leaseKey, 'broken', '1');
    const queue = new Queue(reserveQueueName(eventId), { connection: { url: stack.config.redisUrl }, prefix: stack.config.queuePrefix });
    await queue.add('reserve', { event_id: eventId, requests: [{ reservation_id: id, seq_arrival: 1 }] }, { attempts: 3 });
    const final = await waitFor('the terminal decision', async () => {
      const r = await store.read(id);
      return r && r.status !== 'queued' ? r : undefined;
    });
    await queue.close();
    await redis.del(leaseKey);
    await redis.quit();
    expect(final).to.include({ status: 'rejected', reason: 'internal_error' });
    const availability = await stack.http('GET', `/events/${eventId}/availability`);
    expect(availability.body.categories[0]).to.include({ available: 3, held: 0 });
  });
});
