import { expect } from 'chai';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ReserveJob } from '../core/contracts.ts';
import { reserveQueueName } from '../core/keys.ts';
import { createRedis } from '../core/redis.ts';
import { ReservationStore } from '../core/reservation-store.ts';
import { startGateway, type Gateway } from '../gateway/gateway.ts';
import { startShard } from '../shards/shard.ts';
import { testLogger, waitFor } from './support/env.ts';
import { seedEvent, startTestStack, type TestStack } from './support/stack.ts';

// First come, first served under batching: two gateways queue their admitted requests in batches, so
// the queue's job order interleaves arrival numbers; the shard still decides in arrival order.
describe('FIFO under batching across two gateways', function () {
  this.timeout(60_000);
  let stack: TestStack;
  let second: Gateway;
  let redis: Redis;

  before(async () => {
    stack = await startTestStack({ gateway: true });
    second = await startGateway(stack.config, testLogger('gateway-2'));
    redis = createRedis(stack.config.redisUrl, testLogger());
  });
  after(async () => {
    await second.close();
    await redis.quit();
    await stack.close();
  });

  it('decides every admitted request in arrival order: no later arrival wins where an earlier one was refused', async () => {
    const N = 600;
    const SEATS = 100;
    const { eventId } = await seedEvent(stack, { total_stock: SEATS });
    const ports = [stack.gateway!.port, second.port];
    const answers = await Promise.all(Array.from({ length: N }, async (_, i) => {
      const res = await fetch(`http://127.0.0.1:${ports[i % 2]}/reserve`, {
        method: 'POST',
        headers: { authorization: `Bearer ${stack.token('user', `fifo-${i}`)}`, 'content-type': 'application/json' },
        body: JSON.stringify({ event_id: eventId, category: 'VIP', qty: 1 }),
      });
      return { status: res.status, body: (await res.json()) as { reservation_id: string } };
    }));
    expect(answers.every((a) => a.status === 202)).to.equal(true);

    // No shard yet: the queue shows the batches. Their order across two gateways need not follow
    // arrival numbers; to make that certain, the last arrivals are queued again at the head (LIFO), so
    // the first job the shard takes holds the latest requests.
    const queue = new Queue(reserveQueueName(eventId), { connection: redis, prefix: stack.config.queuePrefix });
    const jobs = (await queue.getJobs(['wait'], 0, -1, true)).map((j) => j.data as ReserveJob);
    expect(jobs.reduce((n, j) => n + j.requests.length, 0)).to.equal(N);
    expect(jobs.length, 'requests were batched').to.be.below(N);
    const latest = jobs.flatMap((j) => j.requests).sort((a, b) => b.seq_arrival - a.seq_arrival).slice(0, 10);
    await queue.add('reserve', { event_id: eventId, requests: latest }, { lifo: true });
    await queue.close();

    const shard = await startShard(stack.config, testLogger('shard'));
    try {
      const store = new ReservationStore(redis, { keyPrefix: stack.config.keyPrefix, holdTtlMs: 60_000, retentionMs: 60_000 });
      const decided = await waitFor('every request decided', async () => {
        const all = await Promise.all(answers.map((a) => store.read(a.body.reservation_id)));
        return all.every((r) => r && r.status !== 'queued') ? all.map((r) => r!) : undefined;
      }, 30_000);
      const byArrival = [...decided].sort((a, b) => a.seqArrival - b.seqArrival);
      const decisionOrder = byArrival.map((r) => r.seqDecision!);
      expect(decisionOrder, 'decision numbers follow arrival numbers (displacement 0)').to.deep.equal([...decisionOrder].sort((a, b) => a - b));
      const winners = byArrival.filter((r) => r.status === 'reserved');
      const refused = byArrival.filter((r) => r.status === 'rejected');
      expect(winners).to.have.length(SEATS);
      expect(refused.every((r) => r.reason === 'out_of_stock')).to.equal(true);
      expect(Math.max(...winners.map((r) => r.seqArrival)), 'every winner arrived before every refused request').to.be.below(Math.min(...refused.map((r) => r.seqArrival)));
    } finally {
      await shard.close();
    }
  });
});
