import { expect } from 'chai';
import type { FairnessReport } from '../core/fairness/report.ts';
import { createRedis } from '../core/redis.ts';
import { ReservationStore } from '../core/reservation-store.ts';
import { startShard } from '../shards/shard.ts';
import { testLogger, waitFor } from './support/env.ts';
import { seedEvent, startTestStack, type TestStack } from './support/stack.ts';

// A burst against a small category through the whole system (gateway, shard, Kafka, persister,
// PostgreSQL), then the fairness report from GET /admin/events/{id}/fairness (docs/fairness.md).
describe('fairness report end to end', function () {
  this.timeout(120_000);
  let stack: TestStack;

  before(async () => {
    // No shard at first: the burst fills the queue, then a shard starts deciding.
    stack = await startTestStack({ gateway: true, persister: true });
  });
  after(async () => {
    await stack.close();
  });

  it('a burst of 610 requests for 40 seats, shed at a depth of 120, then decided, then refused as sold out: no oversell, no cap violation, no inversion, no late winner; every arrival recorded', async () => {
    const { eventId } = await seedEvent(stack, { total_stock: 40 }, { max_per_user: 2 });
    const admin = stack.token('admin', 'admin-1');
    expect((await stack.http('PUT', `/admin/events/${eventId}/queue`, { token: admin, body: { max_depth: 120 } })).status).to.equal(200);

    const reserve = (user: string, qty: number) =>
      stack.http('POST', '/reserve', { token: stack.token('user', user), body: { event_id: eventId, category: 'VIP', qty } });
    // Five users queue 2 seats, then 1 more: with a cap of 2 the second is refused limit_exceeded.
    const greedy = [];
    for (let i = 0; i < 5; i++) greedy.push(await reserve(`greedy-${i}`, 2), await reserve(`greedy-${i}`, 1));
    // Then 300 users send two requests each at once (qty 2 and 1, or 1 and 1).
    const burst = [...greedy, ...(await Promise.all(Array.from({ length: 600 }, (_, i) => reserve(`fan-${i % 300}`, i < 300 && i % 3 === 0 ? 2 : 1))))];
    const shard = await startShard(stack.config, testLogger('shard'));
    const redis = createRedis(stack.config.redisUrl, testLogger());
    try {
      const store = new ReservationStore(redis, { keyPrefix: stack.config.keyPrefix, holdTtlMs: 1, retentionMs: 1 });
      const admittedInBurst = burst.filter((r) => r.status === 202).length;
      await waitFor('the burst decided', async () => Number(await redis.get(store.keys(eventId).decided)) === admittedInBurst || undefined, 60_000);
      // Sold out now: these are refused at the door.
      const late = await Promise.all(Array.from({ length: 50 }, (_, i) => reserve(`late-${i}`, 1)));
      const responses = [...burst, ...late];

      const codes = new Map<string, number>();
      for (const r of responses) {
        const key = r.status === 202 ? '202' : `${r.status} ${String(r.body.code)}`;
        codes.set(key, (codes.get(key) ?? 0) + 1);
      }
      expect([...codes.keys()].sort(), JSON.stringify([...codes])).to.deep.equal(['202', '409 out_of_stock', '429 queue_full']);
      const admitted = codes.get('202')!;
      expect(admitted).to.equal(120);

      const arrivals = Number(await redis.get(store.keys(eventId).seq));
      expect(arrivals).to.equal(660);
      const report = await waitFor('the report to count every arrival, decided', async () => {
        const r = await stack.http('GET', `/admin/events/${eventId}/fairness`, { token: admin });
        expect(r.status, JSON.stringify(r.body)).to.equal(200);
        const body = r.body as unknown as FairnessReport;
        return body.requests.arrivals === arrivals && body.requests.decided === admitted ? body : undefined;
      }, 60_000);

      expect(report.requests).to.deep.include({ admitted, pending: 0 });
      expect(report.requests.refused_at_door.out_of_stock).to.equal(codes.get('409 out_of_stock'));
      expect(report.requests.shed.queue_full).to.equal(codes.get('429 queue_full'));
      expect(report.requests.rejected.limit_exceeded, 'the greedy users (and maybe a fan)').to.be.at.least(5);
      expect(report.requests.rejected.out_of_stock).to.be.greaterThan(0);
      expect(report.categories[0]!.won_seats).to.equal(40);
      expect(report.conservation).to.deep.equal({ oversold_seats: 0, undersold_refusals: 0, seats_left: 0 });
      expect(report.users.cap_violations).to.equal(0);
      expect(report.order).to.deep.include({ inversions: 0, inversion_rate: 0 });
      expect(report.order.displacement.max).to.equal(0);
      expect(report.winners).to.deep.include({ precision: 1, late_winners: 0 });
      expect(report.time.sold_out_after_ms).to.be.a('number');
      expect(report.time.to_decision_ms.p99).to.be.a('number');
    } finally {
      await redis.quit();
      await shard.close();
    }
  });

  it('answers 404 for an unknown event and 403 for a user', async () => {
    const unknown = await stack.http('GET', '/admin/events/00000000-0000-4000-8000-000000000000/fairness', { token: stack.token('admin', 'admin-1') });
    expect(unknown.status).to.equal(404);
    expect(unknown.body.code).to.equal('event_not_found');
    const { eventId } = await seedEvent(stack, { total_stock: 1 });
    expect((await stack.http('GET', `/admin/events/${eventId}/fairness`, { token: stack.token('user', 'u') })).status).to.equal(403);
  });
});
