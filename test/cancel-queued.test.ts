import { expect } from 'chai';
import { startShard } from '../shards/shard.ts';
import { testLogger, waitFor } from './support/env.ts';
import { seedEvent, startTestStack, type TestStack } from './support/stack.ts';

// Cancelling a request that is still queued: no shard runs until after the cancel.
describe('cancelling a queued request', function () {
  this.timeout(30_000);
  let stack: TestStack;

  before(async () => {
    stack = await startTestStack({ gateway: true });
  });
  after(async () => {
    await stack.close();
  });

  it('takes it out of the order at once (the one behind moves up), and once a shard runs it takes no seat', async () => {
    const { eventId } = await seedEvent(stack, { total_stock: 1 });
    const token = stack.token('user', 'changed-mind');
    const admitted = await stack.http('POST', '/reserve', { token, body: { event_id: eventId, category: 'VIP', qty: 1 } });
    const id = admitted.body.reservation_id as string;
    const behind = await stack.http('POST', '/reserve', { token: stack.token('user', 'next-in-line'), body: { event_id: eventId, category: 'VIP', qty: 1 } });
    expect(behind.body.position).to.equal(1);

    const cancelled = await stack.http('DELETE', `/reservations/${id}`, { token });
    expect(cancelled.status).to.equal(200);
    expect(cancelled.body.status).to.equal('cancelled');
    expect((await stack.http('GET', `/admin/events/${eventId}/queue`, { token: stack.token('admin', 'ops') })).body.depth, 'it left the depth').to.equal(1);
    const poll = await stack.http('GET', `/reservations/${behind.body.reservation_id}`, { token: stack.token('user', 'next-in-line') });
    expect(poll.body.position, 'nobody is ahead any more').to.equal(0);

    const shard = await startShard(stack.config, testLogger('shard'));
    try {
      await waitFor('the request behind to be decided', async () =>
        (await stack.http('GET', `/reservations/${behind.body.reservation_id}`, { token: stack.token('user', 'next-in-line') })).body.status === 'reserved' || undefined);
      expect((await stack.http('GET', `/reservations/${id}`, { token })).body.status).to.equal('cancelled');
      expect((await stack.http('GET', `/events/${eventId}/availability`)).body.categories[0]).to.include({ available: 0, held: 1 });
    } finally {
      await shard.close();
    }
  });
});
