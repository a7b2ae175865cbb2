import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { eventKeys, eventWakeChannel } from '../core/keys.ts';
import { createRedis, Scripts } from '../core/redis.ts';
import { parseLease } from '../core/reservation-store.ts';
import { startShard, type Shard } from '../shards/shard.ts';
import { testLogger, waitFor } from './support/env.ts';
import { spawnProcess, type SpawnedProcess } from './support/spawn.ts';
import { seedEvent, startTestStack, type TestStack } from './support/stack.ts';

// Several shard processes, one owner per event: leases, takeover after kill -9, graceful handover,
// fencing, and Workers that close when quiet and come back on the next admission.
describe('shards that own events', function () {
  this.timeout(120_000);

  describe('two shard processes and ten events', () => {
    let stack: TestStack;
    let redis: Redis;
    const shards: SpawnedProcess[] = [];

    before(async () => {
      // LEASE_TTL 3 s: leases renewed every second; a dead owner is replaced within about 4.5 s.
      stack = await startTestStack({ gateway: true }, { leaseTtlMs: 3_000 });
      redis = createRedis(stack.config.redisUrl, testLogger());
    });
    after(async () => {
      await Promise.all(shards.map((s) => s.stop()));
      await redis.quit();
      await stack.close();
    });

    const ownerOf = async (eventId: string) => parseLease(await redis.get(eventKeys(stack.config.keyPrefix, eventId).lease))?.shardId;
    const ownedMetric = async (shard: SpawnedProcess) =>
      Number(/^wt_shard_owned_events\{[^}]*\} (\d+)$/m.exec(await (await fetch(`http://127.0.0.1:${shard.port}/metrics`)).text())?.[1]);

    it('every event has exactly one owner, the two share them, and after kill -9 of one in a burst the other decides every admitted request without oversell', async () => {
      const events: Awaited<ReturnType<typeof seedEvent>>[] = [];
      for (let i = 0; i < 10; i++) events.push(await seedEvent(stack, { total_stock: 30 }));
      shards.push(await spawnProcess('shards/main.ts', { ...stack.config, shardId: 'shard-a' }, 'shardPort'));
      shards.push(await spawnProcess('shards/main.ts', { ...stack.config, shardId: 'shard-b' }, 'shardPort'));
      const [a, b] = shards as [SpawnedProcess, SpawnedProcess];

      const balanced = await waitFor('each shard to own five events', async () => {
        const [ownedA, ownedB] = [await ownedMetric(a), await ownedMetric(b)];
        return ownedA === 5 && ownedB === 5 ? [ownedA, ownedB] : undefined;
      });
      expect(balanced).to.deep.equal([5, 5]);
      const owners = await Promise.all(events.map((e) => ownerOf(e.eventId)));
      expect(owners.filter((o) => o === 'shard-a')).to.have.length(5);
      expect(owners.filter((o) => o === 'shard-b')).to.have.length(5);
      const unowned = /^wt_events_unowned\{[^}]*\} (\d+)$/m.exec(await (await fetch(`http://127.0.0.1:${a.port}/metrics`)).text())?.[1];
      expect(unowned).to.equal('0');

      // A burst over all ten events; shard-a is killed (no goodbye) in the middle of it.
      const wave = (n: number, tag: string) =>
        Promise.all(events.flatMap((e) => Array.from({ length: n }, (_, i) =>
          stack.http('POST', '/reserve', { token: stack.token('user', `${tag}-${e.eventId}-${i}`), body: { event_id: e.eventId, category: 'VIP', qty: 1 } }))));
      const first = await wave(25, 'w1');
      a.child.kill('SIGKILL');
      const second = await wave(25, 'w2');
      // Admitted, or refused at the door once the survivor's events have no seat left (the depth limit is
      // far away): a second-wave request can find its event's thirty seats already held.
      const all = [...first, ...second];
      const admitted = all.filter((r) => r.status === 202).map((r) => r.body.reservation_id as string);
      const refusedAtDoor = all.filter((r) => r.status === 409 && r.body.code === 'out_of_stock');
      expect(admitted.length + refusedAtDoor.length, JSON.stringify(all.find((r) => r.status !== 202 && r.status !== 409)?.body)).to.equal(500);

      const admin = stack.token('admin', 'watcher');
      const decided = await waitFor('every admitted request to be decided', async () => {
        const states = await Promise.all(admitted.map(async (id) => (await stack.http('GET', `/reservations/${id}`, { token: admin })).body.status as string));
        return states.every((s) => s !== 'queued') ? states : undefined;
      }, 60_000);
      expect(decided.filter((s) => s === 'reserved'), 'thirty seats in each of ten events').to.have.length(300);
      expect(decided.filter((s) => s === 'rejected')).to.have.length(admitted.length - 300);

      for (const e of events) {
        expect(await ownerOf(e.eventId), 'every event moved to the survivor').to.equal('shard-b');
        const stock = (await stack.http('GET', `/events/${e.eventId}/availability`)).body.categories[0];
        expect(stock).to.include({ available: 0, held: 30 });
      }
    });
  });

  describe('one shard in this process', () => {
    let stack: TestStack;
    let redis: Redis;
    let scripts: Scripts;

    before(async () => {
      // A long lease (renewed every 20 s) and a short idle time: what happens here is the fencing and
      // the wake-up path, not the periodic rounds.
      stack = await startTestStack({ gateway: true }, { leaseTtlMs: 60_000, workerIdleMs: 300 });
      redis = createRedis(stack.config.redisUrl, testLogger());
      scripts = new Scripts(redis);
    });
    after(async () => {
      await redis.quit();
      await stack.close();
    });

    const status = async (id: string, sub: string) => (await stack.http('GET', `/reservations/${id}`, { token: stack.token('user', sub) })).body;

    it('a shard whose lease was taken cannot take seats: the job goes back to the queue, and the owner decides it', async () => {
      const { eventId } = await seedEvent(stack, { total_stock: 1 });
      const shard = await startShard(stack.config, testLogger('shard'));
      try {
        const k = eventKeys(stack.config.keyPrefix, eventId);
        await waitFor('the shard to own the event', () => shard.ownedEvents().includes(eventId));
        // Another shard takes the lease (as after this one was paused past its TTL); this one has not noticed.
        await redis.del(k.lease);
        const [, intruder] = (await scripts.run('acquireLease', [k.lease, k.fence], ['intruder', 60_000, ''])) as [number, string];

        const res = await stack.http('POST', '/reserve', { token: stack.token('user', 'fenced'), body: { event_id: eventId, category: 'VIP', qty: 1 } });
        expect(res.status).to.equal(202);
        await waitFor('the shard to stop serving the event', () => !shard.ownedEvents().includes(eventId));
        expect(await status(res.body.reservation_id, 'fenced')).to.include({ status: 'queued' });
        expect((await stack.http('GET', `/events/${eventId}/availability`)).body.categories[0]).to.include({ available: 1, held: 0 });
        expect(await redis.get(k.lease), 'the lease is untouched').to.equal(intruder);

        // The intruder goes away and says so: the shard takes the event back (a new token) and decides.
        await redis.del(k.lease);
        await redis.publish(eventWakeChannel(stack.config.keyPrefix), eventId);
        await waitFor('the decision', async () => (await status(res.body.reservation_id, 'fenced')).status === 'reserved');
        expect(Number(parseLease(await redis.get(k.lease))!.token)).to.be.greaterThan(parseLease(intruder)!.token);
      } finally {
        await shard.close();
      }
    });

    it("a quiet event's Worker closes, and the next admission brings it back at once (not the periodic sweep)", async () => {
      const { eventId } = await seedEvent(stack, { total_stock: 5 });
      const shard = await startShard(stack.config, testLogger('shard'));
      try {
        const first = await stack.http('POST', '/reserve', { token: stack.token('user', 'q1'), body: { event_id: eventId, category: 'VIP', qty: 1 }, headers: { prefer: 'wait=10' } });
        expect(first.body.status).to.equal('reserved');
        await waitFor('the quiet Worker to close', () => !shard.liveWorkers().includes(eventId));
        const opened = shard.workersOpened();
        const second = await stack.http('POST', '/reserve', { token: stack.token('user', 'q2'), body: { event_id: eventId, category: 'VIP', qty: 1 } });
        // The periodic sweep runs every 20 s here: a decision within 10 s came from the wake-up.
        await waitFor('the new request to be decided', async () => (await status(second.body.reservation_id, 'q2')).status === 'reserved', 10_000);
        expect(shard.workersOpened()).to.equal(opened + 1);
      } finally {
        await shard.close();
      }
    });

    it('a shard that stops gracefully hands its events over at once', async () => {
      const { eventId } = await seedEvent(stack, { total_stock: 5 });
      const first = await startShard({ ...stack.config, shardId: 'leaving' }, testLogger('shard'));
      await waitFor('the first shard to own the event', () => first.ownedEvents().includes(eventId));
      const second = await startShard({ ...stack.config, shardId: 'staying' }, testLogger('shard'));
      try {
        const queued = await stack.http('POST', '/reserve', { token: stack.token('user', 'h1'), body: { event_id: eventId, category: 'VIP', qty: 1 } });
        await first.close();
        // With a 60 s lease, only the handover (lease freed and announced) can move it this soon.
        await waitFor('the other shard to own the event', () => second.ownedEvents().includes(eventId), 10_000);
        await waitFor('the request to be decided', async () => (await status(queued.body.reservation_id, 'h1')).status === 'reserved', 10_000);
        const view = await stack.http('GET', `/admin/events/${eventId}/queue`, { token: stack.token('admin', 'ops') });
        expect(view.body.owner).to.include({ shard_id: 'staying' });
      } finally {
        await second.close();
      }
    });
  });
});
