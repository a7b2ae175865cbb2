import { expect } from 'chai';
import type { FairnessReport } from '../core/fairness/report.ts';
import { drawOrder } from '../core/fairness/lottery.ts';
import { createRedis } from '../core/redis.ts';
import { ReservationStore } from '../core/reservation-store.ts';
import { testLogger, waitFor } from './support/env.ts';
import { seedEvent, startTestStack, type TestStack } from './support/stack.ts';

// The lottery pre-queue end to end (docs/fairness.md): requests of the window are decided only after it
// closes, in the order drawn once with the event's seed, before every later arrival.
describe('lottery pre-queue end to end', function () {
  this.timeout(120_000);
  const SEED = 4_242;
  const WINDOW_S = 3;
  let stack: TestStack;

  before(async () => {
    stack = await startTestStack({ gateway: true, shard: true, persister: true });
  });
  after(async () => {
    await stack.close();
  });

  it('rejects a lottery without a window or an opening time, naming the fields', async () => {
    const admin = stack.token('admin', 'admin-1');
    const res = await stack.http('POST', '/events', { token: admin, body: { name: 'L', date: '2027-01-01T20:00:00Z', admission: { mode: 'lottery' } } });
    expect(res.status).to.equal(400);
    expect(res.headers.get('content-type')).to.match(/problem\+json/);
    expect(res.body.invalid_params.map((p: { name: string }) => p.name).sort()).to.deep.equal(['admission.window_s', 'sales_open_at']);
  });

  it('40 buyers in the window, 10 seats: nothing decided before it closes, then the draw decides; the winners are draws 1–10; the report verifies the draw', async () => {
    const admin = stack.token('admin', 'admin-1');
    const openedAt = new Date();
    const { eventId } = await seedEvent(stack, { total_stock: 10 }, {
      max_per_user: 4, sales_open_at: openedAt.toISOString(), admission: { mode: 'lottery', window_s: WINDOW_S, seed: SEED },
    });
    const event = await stack.http('GET', `/events/${eventId}`);
    expect(event.body.admission).to.deep.equal({ mode: 'lottery', window_s: WINDOW_S });

    const reserve = (user: string) => stack.http('POST', '/reserve', { token: stack.token('user', user), body: { event_id: eventId, category: 'VIP', qty: 1 } });
    const burst = await Promise.all(Array.from({ length: 40 }, (_, i) => reserve(`buyer-${i}`)));
    expect(burst.map((r) => r.status)).to.deep.equal(Array(40).fill(202));
    const inWindow = burst.filter((r) => r.body.position === null);
    expect(inWindow.length, 'requests placed by the draw (position unknown until then)').to.be.at.least(11);

    // While the window is open nothing is decided and a status poll shows no position.
    const owner = new Map(burst.map((r, i) => [r.body.reservation_id as string, `buyer-${i}`]));
    const first = inWindow[0]!.body.reservation_id as string;
    const redis = createRedis(stack.config.redisUrl, testLogger());
    const store = new ReservationStore(redis, { keyPrefix: stack.config.keyPrefix, holdTtlMs: 1, retentionMs: 1 });
    try {
      if (Date.now() < openedAt.getTime() + WINDOW_S * 1000 - 500) {
        const poll = await stack.http('GET', `/reservations/${first}`, { token: stack.token('user', owner.get(first)!) });
        expect(poll.body.status).to.equal('queued');
        expect(poll.body).to.not.have.property('position');
        expect(Number(await redis.get(store.keys(eventId).decided) ?? 0)).to.equal(0);
      }
      await waitFor('every request decided', async () => Number(await redis.get(store.keys(eventId).decided)) === 40 || undefined, 60_000);
      const late = await reserve('late-buyer');
      expect(late.status, JSON.stringify(late.body)).to.equal(409); // sold out by then: refused at the door

      const all = await Promise.all([...owner.keys()].map((id) => store.read(id)));
      const drawn = all.filter((r) => r !== undefined && inWindow.some((w) => w.body.reservation_id === r.reservationId)).sort((a, b) => a!.seqArrival - b!.seqArrival);
      // Decided in the order drawn with the seed: the draw of the k window requests in arrival order.
      const expected = drawOrder(drawn.length, SEED);
      const byDraw = drawn.map((r, i) => ({ r: r!, drawNo: expected[i]! })).sort((a, b) => a.drawNo - b.drawNo);
      expect(byDraw.map((x) => x.r.seqDecision)).to.deep.equal([...byDraw.map((x) => x.r.seqDecision!)].sort((a, b) => a - b));
      expect(byDraw.filter((x) => x.r.status === 'reserved').map((x) => x.drawNo)).to.deep.equal(Array.from({ length: 10 }, (_, i) => i + 1));
      // (Later arrivals decided after every draw: core/reservation-store.test.ts, where the window is
      // controlled to the millisecond.)

      const queue = await stack.http('GET', `/admin/events/${eventId}/queue`, { token: admin });
      expect(queue.body.lottery).to.deep.equal({ window_s: WINDOW_S, seed: SEED, drawn: true, drawn_requests: drawn.length });

      const report = await waitFor('the fairness report with every decision', async () => {
        const r = await stack.http('GET', `/admin/events/${eventId}/fairness`, { token: admin });
        const body = r.body as FairnessReport;
        return body.requests?.decided === 40 && body.requests.arrivals === 41 ? body : undefined;
      }, 60_000);
      expect(report.mode).to.equal('lottery');
      expect(report.lottery).to.deep.include({ window_s: WINDOW_S, seed: SEED, window_requests: drawn.length, draw_verified: true, degrees_of_freedom: 9 });
      expect(report.lottery!.chi_squared).to.be.a('number');
      expect(report.lottery!.win_rate_by_decile).to.have.length(10);
      expect(report.order.inversions).to.equal(0);
      expect(report.winners).to.deep.include({ won: 10, precision: 1, late_winners: 0 });
      expect(report.conservation.oversold_seats).to.equal(0);
    } finally {
      await redis.quit();
    }
  });
});
