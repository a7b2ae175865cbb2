import { expect } from 'chai';
import { Queue } from 'bullmq';
import { reserveQueueName } from '../core/keys.ts';
import { startShard } from '../shards/shard.ts';
import { testLogger, waitFor } from './support/env.ts';
import { seedEvent, startTestStack, type HttpResult, type TestStack } from './support/stack.ts';

// What the gateway refuses at the door, and the operators' switches, on the real servers. No shard runs
// unless a test starts one, so queued requests stay queued.
describe('admission control: queue depth, sold-out fast path, sale switch', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let admin: string;

  before(async () => {
    stack = await startTestStack({ gateway: true });
    admin = stack.token('admin', 'operator');
  });
  after(async () => {
    await stack.close();
  });

  const reserve = (eventId: string, sub: string, qty = 1) =>
    stack.http('POST', '/reserve', { token: stack.token('user', sub), body: { event_id: eventId, category: 'VIP', qty } });
  /** Requests in the event's queued jobs (a job carries a gateway's batch). */
  const queuedRequests = async (eventId: string) => {
    const queue = new Queue(reserveQueueName(eventId), { connection: { url: stack.config.redisUrl }, prefix: stack.config.queuePrefix });
    const jobs = await queue.getJobs(['wait', 'active', 'delayed', 'prioritized']);
    await queue.close();
    return jobs.reduce((n, job) => n + (job.data as { requests: unknown[] }).requests.length, 0);
  };
  function expectProblem(res: HttpResult, status: number, code: string) {
    expect(res.status, JSON.stringify(res.body)).to.equal(status);
    expect(res.body.code).to.equal(code);
  }

  it('1,000 concurrent reserves against max_depth 100 with no shard deciding: at most 100 admitted, the rest 429 queue_full with Retry-After; raising the limit admits more at once', async () => {
    const { eventId } = await seedEvent(stack, { total_stock: 5_000 });
    const put = await stack.http('PUT', `/admin/events/${eventId}/queue`, { token: admin, body: { max_depth: 100 } });
    expect(put.status).to.equal(200);
    expect(put.body).to.include({ event_id: eventId, max_depth: 100, depth: 0 });

    const answers = await Promise.all(Array.from({ length: 1_000 }, (_, i) => reserve(eventId, `flood-${i}`)));
    const admitted = answers.filter((a) => a.status === 202);
    const shed = answers.filter((a) => a.status === 429);
    expect(admitted.length + shed.length).to.equal(1_000);
    expect(admitted).to.have.length(100);
    for (const s of shed) {
      expect(s.body.code).to.equal('queue_full');
      expect(Number(s.headers.get('retry-after'))).to.be.within(1, 60);
    }
    expect(await queuedRequests(eventId)).to.equal(100);
    const queue = await stack.http('GET', `/admin/events/${eventId}/queue`, { token: admin });
    expect(queue.body).to.include({ depth: 100, max_depth: 100, owner: null });
    expect(queue.body.oldest_wait_ms).to.be.a('number').and.at.least(0);

    await stack.http('PUT', `/admin/events/${eventId}/queue`, { token: admin, body: { max_depth: 150 } });
    const more = await Promise.all(Array.from({ length: 80 }, (_, i) => reserve(eventId, `late-${i}`)));
    expect(more.filter((a) => a.status === 202)).to.have.length(50);
    expect(more.filter((a) => a.status === 429)).to.have.length(30);
  });

  it('queue settings: 400 for a bad max_depth, 403 for a user, 404 for an unknown event', async () => {
    const { eventId } = await seedEvent(stack, { total_stock: 5 });
    const bad = await stack.http('PUT', `/admin/events/${eventId}/queue`, { token: admin, body: { max_depth: 0 } });
    expectProblem(bad, 400, 'invalid_request');
    expect(bad.body.invalid_params[0].name).to.equal('max_depth');
    expectProblem(await stack.http('GET', `/admin/events/${eventId}/queue`, { token: stack.token('user', 'u') }), 403, 'forbidden');
    expectProblem(await stack.http('GET', '/admin/events/0b6a5d2e-8f0c-4a6b-9a51-2f1f4f0c9d11/queue', { token: admin }), 404, 'event_not_found');
  });

  it('a sold-out category refuses 409 out_of_stock without queueing; cancelling one hold re-opens exactly one seat', async () => {
    const { eventId } = await seedEvent(stack, { total_stock: 2 });
    const shard = await startShard(stack.config, testLogger('shard'));
    try {
      const a = await stack.http('POST', '/reserve', { token: stack.token('user', 'a'), body: { event_id: eventId, category: 'VIP', qty: 2 }, headers: { prefer: 'wait=10' } });
      expect(a.status).to.equal(201);
      const jobsBefore = await queuedRequests(eventId);
      expectProblem(await reserve(eventId, 'b'), 409, 'out_of_stock');
      expect(await queuedRequests(eventId), 'nothing was queued').to.equal(jobsBefore);

      // Two seats come back with the cancel; two buyers of one seat each get them, a third is refused.
      await stack.http('DELETE', `/reservations/${a.body.reservation_id}`, { token: stack.token('user', 'a') });
      const again = await Promise.all(['c', 'd', 'e'].map((sub) =>
        stack.http('POST', '/reserve', { token: stack.token('user', sub), body: { event_id: eventId, category: 'VIP', qty: 1 }, headers: { prefer: 'wait=10' } })));
      expect(again.map((r) => r.status).sort()).to.deep.equal([201, 201, 409]);
      expect(again.find((r) => r.status === 409)!.body.code).to.equal('out_of_stock');
    } finally {
      await shard.close();
    }
  });

  it('a paused sale refuses, a reopened one admits, and closing rejects what is still queued', async () => {
    const { eventId } = await seedEvent(stack, { total_stock: 10 });
    const queued = await reserve(eventId, 'early');
    expect(queued.status).to.equal(202);

    const paused = await stack.http('PUT', `/admin/events/${eventId}/sale`, { token: admin, body: { state: 'paused' } });
    expect(paused.status).to.equal(200);
    expect(paused.body.sale_state).to.equal('paused');
    expectProblem(await reserve(eventId, 'during-pause'), 409, 'sales_paused');

    await stack.http('PUT', `/admin/events/${eventId}/sale`, { token: admin, body: { state: 'open' } });
    expect((await reserve(eventId, 'after-pause')).status).to.equal(202);

    await stack.http('PUT', `/admin/events/${eventId}/sale`, { token: admin, body: { state: 'closed' } });
    expectProblem(await reserve(eventId, 'too-late'), 409, 'sales_closed');
    expect((await stack.http('GET', `/events/${eventId}/availability`)).body.sale_state).to.equal('closed');
    const shard = await startShard(stack.config, testLogger('shard'));
    try {
      const final = await waitFor('the queued requests to be decided', async () => {
        const r = await stack.http('GET', `/reservations/${queued.body.reservation_id}`, { token: stack.token('user', 'early') });
        return r.body.status !== 'queued' ? r.body : undefined;
      });
      expect(final).to.include({ status: 'rejected', reason: 'sales_closed' });
    } finally {
      await shard.close();
    }
  });

  it('before sales_open_at reserve is 409 sales_not_open with Retry-After; the window closes it at sales_close_at', async () => {
    const opensAt = new Date(Date.now() + 3_600_000).toISOString();
    const { eventId } = await seedEvent(stack, { total_stock: 10 }, { sales_open_at: opensAt });
    const early = await reserve(eventId, 'eager');
    expectProblem(early, 409, 'sales_not_open');
    expect(Number(early.headers.get('retry-after'))).to.be.within(3_500, 3_600);

    const { eventId: over } = await seedEvent(stack, { total_stock: 10 }, { sales_open_at: '2020-01-01T00:00:00Z', sales_close_at: '2020-01-02T00:00:00Z' });
    expectProblem(await reserve(over, 'late'), 409, 'sales_closed');
    // The admin's switch wins over the window at once.
    await stack.http('PUT', `/admin/events/${over}/sale`, { token: admin, body: { state: 'open' } });
    expect((await reserve(over, 'let-in')).status).to.equal(202);
  });

  it('the sale switch: 400 for an unknown state, 403 for a user', async () => {
    const { eventId } = await seedEvent(stack, { total_stock: 5 });
    const bad = await stack.http('PUT', `/admin/events/${eventId}/sale`, { token: admin, body: { state: 'half-open' } });
    expectProblem(bad, 400, 'invalid_request');
    expect(bad.body.invalid_params[0].name).to.equal('state');
    expectProblem(await stack.http('PUT', `/admin/events/${eventId}/sale`, { token: stack.token('user', 'u'), body: { state: 'closed' } }), 403, 'forbidden');
  });

  it('the position in the 202 and in polls is the admitted requests ahead, and never increases between two polls', async () => {
    const { eventId } = await seedEvent(stack, { total_stock: 100 });
    const answers = [];
    for (let i = 0; i < 30; i++) answers.push(await reserve(eventId, `line-${i}`));
    expect(answers.map((a) => a.body.position)).to.deep.equal(Array.from({ length: 30 }, (_, i) => i));
    const last = answers.at(-1)!.body.reservation_id as string;
    const token = stack.token('user', 'line-29');
    const poll = async () => (await stack.http('GET', `/reservations/${last}`, { token })).body;
    // Before any shard runs, polls see the same place; then the shard decides two per call (so the
    // line moves in steps) and each poll's position is at most the previous one's.
    const positions: number[] = [(await poll()).position as number, (await poll()).position as number];
    expect(positions).to.deep.equal([29, 29]);
    const shard = await startShard({ ...stack.config, decisionsPerCall: 2 }, testLogger('shard'));
    try {
      for (;;) {
        const body = await poll();
        if (body.status !== 'queued') break;
        positions.push(body.position as number);
      }
    } finally {
      await shard.close();
    }
    for (let i = 1; i < positions.length; i++) expect(positions[i], `poll ${i}`).to.be.at.most(positions[i - 1]!);
  });
});
