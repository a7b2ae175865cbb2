import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { createPool } from '../core/pg.ts';
import { ReservationStore } from '../core/reservation-store.ts';
import { signToken } from '../core/auth-token.ts';
import { testConfig, testLogger } from '../test/support/env.ts';
import { HoldTransitions } from '../core/hold-transitions.ts';
import { IdempotencyKeys } from '../core/idempotency.ts';
import { createApp } from './app.ts';
import { Catalog } from './catalog/catalog.ts';
import { SimulatedPayment } from './payment/simulated-payment.ts';
import { ChangeWaiter } from './waiting/change-waiter.ts';

// createApp with one dependency broken on purpose: what a client sees when something unexpected fails.
describe('gateway failure answers', () => {
  const config = testConfig();

  async function serve(redis: Redis, resolveFails: boolean) {
    const db = createPool(config.databaseUrl, testLogger());
    const store = new ReservationStore(redis, { keyPrefix: config.keyPrefix, holdTtlMs: 1000, retentionMs: 1000 });
    const catalog = new Catalog(db, store);
    const subscriber = new Redis(config.redisUrl, { lazyConnect: true });
    const app = createApp({
      redis, db, store, catalog, jwtSecret: config.jwtSecret, bodyLimit: '16kb', logger: testLogger(),
      transitions: new HoldTransitions(redis, { keyPrefix: config.keyPrefix, retentionMs: 1000, paymentTimeoutMs: 1000 }),
      idempotency: new IdempotencyKeys(redis, { keyPrefix: config.keyPrefix, ttlMs: 1000 }),
      waiter: new ChangeWaiter(subscriber, { keyPrefix: config.keyPrefix, maxWaiters: 10 }, testLogger()),
      payment: new SimulatedPayment({ latencyMs: 0, declineRate: 0 }),
      paymentTimeoutMs: 1000,
      admission: {
        resolve: async () => {
          if (resolveFails) throw new TypeError("Cannot read properties of undefined (reading 'secret internals')");
          throw new Error('unused');
        },
        repairStock: async () => {}, admit: async () => ({ kind: 'category_not_ready' }), abandon: async () => {}, enqueue: async () => {},
      },
    });
    const server = app.listen(0);
    await new Promise((resolve) => server.once('listening', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return {
      base,
      close: async () => {
        await new Promise((resolve) => server.close(resolve));
        await db.end();
        redis.disconnect();
        subscriber.disconnect();
      },
    };
  }

  it('an unexpected error is a 500 problem with no detail of the cause', async () => {
    const app = await serve(new Redis(config.redisUrl), true);
    try {
      const res = await fetch(`${app.base}/reserve`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${signToken(config.jwtSecret, { sub: 'u', role: 'user' })}` },
        body: JSON.stringify({ event_id: '0b6a5d2e-8f0c-4a6b-9a51-2f1f4f0c9d11', category: 'A', qty: 1 }),
      });
      const text = await res.text();
      expect(res.status).to.equal(500);
      expect(res.headers.get('content-type')).to.match(/application\/problem\+json/);
      expect(JSON.parse(text)).to.include({ code: 'internal_error', status: 500, detail: 'Internal error' });
      expect(text).not.to.contain('secret internals');
    } finally {
      await app.close();
    }
  });

  it('GET /ready is 503 naming redis when Redis does not answer', async () => {
    const deadRedis = new Redis('redis://127.0.0.1:1', { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    deadRedis.on('error', () => {});
    const app = await serve(deadRedis, false);
    try {
      const res = await fetch(`${app.base}/ready`);
      expect(res.status).to.equal(503);
      const body = (await res.json()) as { code: string; detail: string };
      expect(body.code).to.equal('service_unavailable');
      expect(body.detail).to.contain('redis');
      expect((await fetch(`${app.base}/health`)).status).to.equal(200);
    } finally {
      await app.close();
    }
  });
});
