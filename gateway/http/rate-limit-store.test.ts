import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { createRedis } from '../../core/redis.ts';
import { deleteTestKeys, testConfig, testLogger, waitFor } from '../../test/support/env.ts';
import { BatchedRedisStore, HitCounter } from './rate-limit-store.ts';

// The batched rate-limit counts on the real Redis: every hit counted once, in order, across counters.
describe('HitCounter and BatchedRedisStore (real Redis)', () => {
  const config = testConfig();
  const prefix = `${config.keyPrefix}:{rl}:`;
  let redis: Redis;

  before(() => {
    redis = createRedis(config.redisUrl, testLogger());
  });
  after(async () => {
    await redis.quit();
    await deleteTestKeys(config);
  });

  it('counts hits that come together, or during a count, in one script call, each hit its own total in the order the hits came', async () => {
    const counter = new HitCounter(redis);
    // Redis learns the script first (a fresh Redis answers the first EVALSHA NOSCRIPT, then gets an EVAL).
    await counter.hit(`${prefix}warm-up`, 60_000);
    const monitor = await redis.monitor();
    const calls: string[][] = [];
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (/^(evalsha|eval)$/i.test(args[0] ?? '') && args.some((a) => a.startsWith(`${prefix}order:`))) calls.push(args);
    });
    try {
      const keyA = `${prefix}order:a`;
      const keyB = `${prefix}order:b`;
      // The first hit finds the counter idle and goes alone (a microtask later); the other 40 come while
      // it is in flight and go together.
      const keys = [keyA, ...Array.from({ length: 40 }, (_, i) => (i % 4 === 3 ? keyB : keyA))];
      const first = counter.hit(keyA, 60_000);
      await Promise.resolve();
      const results = await Promise.all([first, ...keys.slice(1).map((key) => counter.hit(key, 60_000))]);
      const totalsOf = (key: string) => results.filter((_, i) => keys[i] === key).map((r) => r.totalHits);
      expect(totalsOf(keyA)).to.deep.equal(Array.from({ length: 31 }, (_, i) => i + 1));
      expect(totalsOf(keyB)).to.deep.equal(Array.from({ length: 10 }, (_, i) => i + 1));
      expect(Number(await redis.get(keyA))).to.equal(31);
      expect(Number(await redis.get(keyB))).to.equal(10);
      const ttl = await redis.pttl(keyA);
      expect(ttl).to.be.within(1, 60_000);
      for (const r of results) expect(r.resetTime!.getTime()).to.be.within(Date.now(), Date.now() + 60_000);
      await waitFor('the monitor to see both calls', () => calls.length >= 2 || undefined);
      expect(calls).to.have.length(2);
      // The second call's keys: each once, however many hits it carries.
      expect(calls[1]!.filter((a) => a === keyA)).to.have.length(1);
      expect(calls[1]!.filter((a) => a === keyB)).to.have.length(1);
      // Hits that come in the same turn as one that finds the counter idle go with it, in one call.
      const together = await Promise.all([keyA, keyB, keyA].map((key) => counter.hit(key, 60_000)));
      expect(together.map((r) => r.totalHits)).to.deep.equal([32, 11, 33]);
      await waitFor('the monitor to see the third call', () => calls.length >= 3 || undefined);
      expect(calls).to.have.length(3);
    } finally {
      monitor.disconnect();
    }
  });

  it('two gateways’ counters on one key: every hit counted once, no total given twice, each counter’s totals rising', async () => {
    const key = `${prefix}shared:u1`;
    // The second gateway on a connection of its own.
    const other = createRedis(config.redisUrl, testLogger());
    const first = new HitCounter(redis, 2);
    const second = new HitCounter(other, 2);
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? first : second).hit(key, 60_000).then((r) => ({ by: i % 2, total: r.totalHits }))),
    ).finally(() => other.quit());
    expect(results.map((r) => r.total).sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 200 }, (_, i) => i + 1));
    for (const by of [0, 1]) {
      const own = results.filter((r) => r.by === by).map((r) => r.total);
      expect(own, `counter ${by}`).to.deep.equal([...own].sort((a, b) => a - b));
    }
    expect(Number(await redis.get(key))).to.equal(200);
  });

  it('starts a new window once the last one expires, and its first hit is 1 again', async () => {
    const counter = new HitCounter(redis);
    const key = `${prefix}window:u1`;
    expect((await counter.hit(key, 300)).totalHits).to.equal(1);
    expect((await counter.hit(key, 300)).totalHits).to.equal(2);
    await waitFor('the window to end', async () => (await redis.exists(key)) === 0 || undefined, 5_000);
    const next = await counter.hit(key, 300);
    expect(next.totalHits).to.equal(1);
    expect(await redis.pttl(key)).to.be.within(1, 300);
  });

  it('the store: keys under its prefix, the window from express-rate-limit’s options, get, decrement and resetKey', async () => {
    const store = new BatchedRedisStore(redis, new HitCounter(redis), `${prefix}store:`);
    store.init({ windowMs: 30_000 } as Parameters<BatchedRedisStore['init']>[0]);
    expect(await store.get('203.0.113.7')).to.equal(undefined);
    await store.increment('203.0.113.7');
    const second = await store.increment('203.0.113.7');
    expect(second.totalHits).to.equal(2);
    expect(await redis.pttl(`${prefix}store:203.0.113.7`)).to.be.within(1, 30_000);
    const got = await store.get('203.0.113.7');
    expect(got?.totalHits).to.equal(2);
    expect(got!.resetTime!.getTime()).to.be.within(Date.now(), Date.now() + 30_000);
    await store.decrement('203.0.113.7');
    expect((await store.get('203.0.113.7'))?.totalHits).to.equal(1);
    await store.resetKey('203.0.113.7');
    expect(await store.get('203.0.113.7')).to.equal(undefined);
  });
});
