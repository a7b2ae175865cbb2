import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { Queue } from 'bullmq';
import { Agent, request } from 'undici';
import type { Redis } from 'ioredis';
import { newReservationId, reserveQueueName } from '../core/keys.ts';
import { createRedis } from '../core/redis.ts';
import { ReservationStore } from '../core/reservation-store.ts';
import { startShard, type Shard } from '../shards/shard.ts';
import { testLogger, waitFor } from './support/env.ts';
import { spawnProcess } from './support/spawn.ts';
import { seedEvent, startTestStack, type TestStack } from './support/stack.ts';

// Long-polls and `Prefer: wait` on a gateway whose decisions come from a shard started later (or from
// the decision script called directly), so every answer below was woken by a real change.
describe('long-poll and Prefer: wait', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let redis: Redis;
  let store: ReservationStore;

  beforeEach(async () => {
    stack = await startTestStack({ gateway: true });
    redis = createRedis(stack.config.redisUrl, testLogger());
    store = new ReservationStore(redis, { keyPrefix: stack.config.keyPrefix, holdTtlMs: 60_000, retentionMs: 60_000 });
  });
  afterEach(async () => {
    await redis.quit();
    await stack.close();
  });

  const token = (sub = 'poller') => stack.token('user', sub);
  async function queued(eventId: string, sub = 'poller'): Promise<string> {
    const res = await stack.http('POST', '/reserve', { token: token(sub), body: { event_id: eventId, category: 'VIP', qty: 1 } });
    expect(res.status).to.equal(202);
    return res.body.reservation_id as string;
  }

  it('GET ?wait=N answers as soon as the request is decided', async () => {
    const { eventId } = await seedEvent(stack, { total_stock: 5 });
    const id = await queued(eventId);
    const poll = stack.http('GET', `/reservations/${id}?wait=30`, { token: token() });
    await waitFor('the long-poll to wait', () => stack.gateway!.waiter.size === 1 || undefined);
    const shard: Shard = await startShard(stack.config, testLogger('shard'));
    try {
      const res = await poll;
      expect(res.status).to.equal(200);
      expect(res.body.status).to.equal('reserved');
    } finally {
      await shard.close();
    }
  });

  it('GET ?wait=N answers with the unchanged status after N seconds; ?status=S answers at once when it differs', async () => {
    const { eventId } = await seedEvent(stack, { total_stock: 5 });
    const id = await queued(eventId);
    const timedOut = await stack.http('GET', `/reservations/${id}?wait=1`, { token: token() });
    expect(timedOut.body).to.include({ status: 'queued', position: 0 });
    expect(timedOut.headers.get('retry-after')).to.equal('1');
    const differs = await stack.http('GET', `/reservations/${id}?wait=30&status=reserved`, { token: token() });
    expect(differs.body.status).to.equal('queued');
    expect(stack.gateway!.waiter.size).to.equal(0);
  });

  it('bad wait and status parameters are 400', async () => {
    const { eventId } = await seedEvent(stack, { total_stock: 5 });
    const id = await queued(eventId);
    for (const query of ['wait=31', 'wait=-1', 'wait=abc', 'status=paid']) {
      const res = await stack.http('GET', `/reservations/${id}?${query}`, { token: token() });
      expect(res.status, query).to.equal(400);
      expect(res.body.invalid_params[0].name).to.equal(query.split('=')[0]);
    }
  });

  it('POST /reserve with Prefer: wait answers 202 when nothing is decided within N seconds', async () => {
    const { eventId } = await seedEvent(stack, { total_stock: 5 });
    const res = await stack.http('POST', '/reserve', { token: token(), body: { event_id: eventId, category: 'VIP', qty: 1 }, headers: { prefer: 'wait=1' } });
    expect(res.status).to.equal(202);
    expect(res.body).to.include({ status: 'queued', position: 0 });
  });

  it('a wake-up published while the subscriber was disconnected is not lost: waiters re-read after the reconnect', async () => {
    const { eventId, categoryId } = await seedEvent(stack, { total_stock: 5 });
    const id = await queued(eventId);
    const poll = stack.http('GET', `/reservations/${id}?wait=30`, { token: token() });
    await waitFor('the long-poll to wait', () => stack.gateway!.waiter.size === 1 || undefined);
    // In one transaction: drop every pub/sub connection, then decide. Redis writes nothing more to a
    // killed client, so the change's message is lost for sure; only the re-read after the reconnect
    // can answer the waiter.
    const killer = createRedis(stack.config.redisUrl, testLogger());
    const killerStore = new ReservationStore(killer, { keyPrefix: stack.config.keyPrefix, holdTtlMs: 60_000, retentionMs: 60_000 });
    const k = killerStore.keys(eventId);
    const tx = killer.multi().call('CLIENT', 'KILL', 'TYPE', 'pubsub') as unknown as Record<string, (...args: (string | number)[]) => unknown> & { exec(): Promise<unknown> };
    tx.decideRequest!(k.reservation(id), k.category(categoryId), k.decided, k.depth, k.outbox, k.holds, k.meta, k.users, k.queuedByUser, k.pending, 60_000, 60_000, 1, k.changes);
    const replies = (await tx.exec()) as [Error | null, unknown][];
    await killer.quit();
    expect(replies.map(([err]) => err)).to.deep.equal([null, null]);
    const res = await poll;
    expect(res.body.status).to.equal('reserved');
  });

  it('closing the gateway answers every waiting long-poll at once', async () => {
    const { eventId } = await seedEvent(stack, { total_stock: 50 });
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => queued(eventId, `closer-${i}`)));
    const started = Date.now();
    const polls = ids.map((id, i) => stack.http('GET', `/reservations/${id}?wait=30`, { token: token(`closer-${i}`) }));
    await waitFor('all to wait', () => stack.gateway!.waiter.size === 20 || undefined);
    await stack.gateway!.close();
    const answers = await Promise.all(polls);
    expect(answers.every((a) => a.status === 200 && a.body.status === 'queued')).to.equal(true);
    expect(Date.now() - started, 'answered long before the 30 s wait').to.be.below(25_000);
  });

  it('5,000 concurrent long-polls on one gateway (its own process) are all answered when their requests are decided', async () => {
    const N = 5_000;
    const { eventId, categoryId } = await seedEvent(stack, { total_stock: 2_500 });
    const gateway = await spawnProcess('gateway/main.ts', stack.config, 'port');
    try {
      // Admit N requests the way the gateway does (script, then jobs of 500), without N HTTP round trips.
      const reservations = Array.from({ length: N }, (_, i) => ({ id: newReservationId(eventId, randomUUID()), user: `lp-${i}` }));
      for (const r of reservations) await store.admit({ reservationId: r.id, userId: r.user, eventId, categoryId, categoryName: 'VIP', qty: 1 });
      const queue = new Queue(reserveQueueName(eventId), { connection: redis, prefix: stack.config.queuePrefix });
      for (let i = 0; i < N; i += 500) {
        const requests = reservations.slice(i, i + 500).map((r, j) => ({ reservation_id: r.id, seq_arrival: i + j + 1 }));
        await queue.add('reserve', { event_id: eventId, requests }, { removeOnComplete: true });
      }
      await queue.close();
      const admin = stack.token('admin', 'watcher'); // an admin may read any reservation: one token for all
      const agent = new Agent({ connections: null, pipelining: 0, headersTimeout: 60_000, bodyTimeout: 60_000 });
      const polls = reservations.map(async (r) => {
        const res = await request(`http://127.0.0.1:${gateway.port}/reservations/${r.id}?wait=30`, { dispatcher: agent, headers: { authorization: `Bearer ${admin}` } });
        return { status: res.statusCode, body: (await res.body.json()) as { status: string } };
      });
      // All N wait at once, on one subscription.
      await waitFor(`${N} long-polls waiting`, async () => {
        const metrics = await (await fetch(`http://127.0.0.1:${gateway.port}/metrics`)).text();
        return /^wt_gateway_long_polls_waiting 5000$/m.test(metrics) || undefined;
      }, 60_000);
      const subscribers = (await redis.call('PUBSUB', 'NUMSUB', store.keys(eventId).changes)) as [string, number];
      expect(Number(subscribers[1]), 'one subscription per gateway, however many wait').to.equal(1);
      const shard = await startShard(stack.config, testLogger('shard'));
      try {
        const answers = await Promise.all(polls);
        expect(answers.every((a) => a.status === 200)).to.equal(true);
        const statuses = answers.map((a) => a.body.status);
        expect(statuses.filter((s) => s === 'reserved')).to.have.length(2_500);
        expect(statuses.filter((s) => s === 'rejected')).to.have.length(2_500);
      } finally {
        await shard.close();
        await agent.close();
      }
    } finally {
      await gateway.stop();
    }
  });
});
