import { expect } from 'chai';
import { createRedis } from '../core/redis.ts';
import { startGateway } from '../gateway/gateway.ts';
import { testLogger, waitFor } from './support/env.ts';
import { seedEvent, startTestStack, type HttpResult, type TestStack } from './support/stack.ts';

function expectRateLimited(res: HttpResult): void {
  expect(res.status, JSON.stringify(res.body)).to.equal(429);
  expect(res.body.code).to.equal('rate_limited');
  expect(Number(res.headers.get('retry-after'))).to.be.within(1, 60);
}

// Rate limits on the real Redis store, so they hold across gateways.
describe('rate limits', function () {
  this.timeout(30_000);

  describe('per IP, across gateways', () => {
    let stack: TestStack;
    before(async () => {
      stack = await startTestStack({ gateway: true }, { rateLimitPerMin: 5 });
    });
    after(async () => {
      await stack.close();
    });

    it('the 6th request in a minute from one IP is 429 rate_limited, counted across two gateways; /health, /ready and /metrics stay exempt', async () => {
      const second = await startGateway(stack.config, testLogger('gateway-2'));
      try {
        const other = `http://127.0.0.1:${second.port}`;
        for (let i = 0; i < 3; i++) expect((await stack.http('GET', '/events?limit=1')).status).to.equal(200);
        for (let i = 0; i < 2; i++) expect((await fetch(`${other}/events?limit=1`)).status).to.equal(200);
        const sixth = await fetch(`${other}/events?limit=1`);
        expectRateLimited({ status: sixth.status, headers: sixth.headers, body: await sixth.json() });
        expectRateLimited(await stack.http('GET', '/events?limit=1'));
        for (const path of ['/health', '/ready', '/metrics']) expect((await stack.http('GET', path)).status, path).to.equal(200);
      } finally {
        await second.close();
      }
    });
  });

  describe('per user, and behind a trusted proxy', () => {
    let stack: TestStack;
    before(async () => {
      stack = await startTestStack({ gateway: true }, { rateLimitUserPerMin: 3, rateLimitPerMin: 4, trustProxy: 'loopback' });
    });
    after(async () => {
      await stack.close();
    });

    it('a user past its limit is 429 while another user is not; each client IP behind the proxy has its own limit', async () => {
      const from = (ip: string) => ({ 'x-forwarded-for': ip });
      const alice = stack.token('user', 'alice');
      for (let i = 0; i < 3; i++) expect((await stack.http('GET', '/reservations', { token: alice, headers: from('203.0.113.1') })).status).to.equal(200);
      expectRateLimited(await stack.http('GET', '/reservations', { token: alice, headers: from('203.0.113.2') }));
      expect((await stack.http('GET', '/reservations', { token: stack.token('user', 'bob'), headers: from('203.0.113.3') })).status).to.equal(200);
      // 203.0.113.1 made 3 requests: one more is fine, the 5th is over the per-IP limit of 4.
      expect((await stack.http('GET', '/events', { headers: from('203.0.113.1') })).status).to.equal(200);
      expectRateLimited(await stack.http('GET', '/events', { headers: from('203.0.113.1') }));
      expect((await stack.http('GET', '/events', { headers: from('203.0.113.9') })).status).to.equal(200);
    });
  });

  describe('on the hot path (reserve, poll), both limits counted at once', () => {
    let stack: TestStack;
    before(async () => {
      stack = await startTestStack({ gateway: true }, { rateLimitUserPerMin: 5, rateLimitPerMin: 3, trustProxy: 'loopback' });
    });
    after(async () => {
      await stack.close();
    });
    const from = (ip: string) => ({ 'x-forwarded-for': ip });

    it("a request's per-IP and per-user hits go to Redis in one script call", async () => {
      const token = stack.token('user', 'one-call');
      // The gateway's Redis learns the script first (a fresh Redis answers the first EVALSHA NOSCRIPT).
      expect((await stack.http('GET', '/reservations', { token, headers: from('198.51.100.1') })).status).to.equal(200);
      const redis = createRedis(stack.config.redisUrl, testLogger());
      const monitor = await redis.monitor();
      const calls: string[][] = [];
      monitor.on('monitor', (_time: string, args: string[]) => {
        if (/^(evalsha|eval)$/i.test(args[0] ?? '') && args.some((a) => a.startsWith(`${stack.config.keyPrefix}:{rl}:`))) calls.push(args);
      });
      try {
        expect((await stack.http('GET', '/reservations', { token, headers: from('198.51.100.2') })).status).to.equal(200);
        await waitFor('the monitor to see the count', () => calls.length >= 1 || undefined);
        expect(calls).to.have.length(1);
        expect(calls[0]).to.include.members([`${stack.config.keyPrefix}:{rl}:ip:198.51.100.2`, `${stack.config.keyPrefix}:{rl}:user:one-call`]);
      } finally {
        monitor.disconnect();
        await redis.quit();
      }
    });

    it("an IP past its limit is refused with that limit's headers, even with a bad token or body; another IP still gets its 401", async () => {
      const ip = from('198.51.100.7');
      const token = stack.token('user', 'over-ip');
      for (let i = 0; i < 3; i++) expect((await stack.http('GET', '/reservations', { token, headers: ip })).status).to.equal(200);
      const refused = await stack.http('GET', '/reservations', { token, headers: ip });
      expectRateLimited(refused);
      // The user (5 a minute) had 4 hits counted; the headers are the IP limit's that refused it.
      expect(refused.headers.get('ratelimit-policy')).to.equal('3;w=60');
      expect(refused.headers.get('ratelimit')).to.match(/^limit=3, remaining=0, reset=\d+$/);
      expectRateLimited(await stack.http('GET', '/reservations', { token: 'not-a-token', headers: ip }));
      expectRateLimited(await stack.http('POST', '/reserve', { token, rawBody: '{"event_id":', headers: { ...ip, 'content-type': 'application/json' } }));
      expect((await stack.http('GET', '/reservations', { token: 'not-a-token', headers: from('198.51.100.8') })).status).to.equal(401);
      // The token is checked before the body is read: a bad token with a bad body is 401, not 400.
      expect((await stack.http('POST', '/reserve', { token: 'not-a-token', rawBody: '{"event_id":', headers: { ...from('198.51.100.9'), 'content-type': 'application/json' } })).status).to.equal(401);
    });

    it("a user past its limit is refused with the user limit's headers while its IP is under its own", async () => {
      const token = stack.token('user', 'over-user');
      for (let i = 0; i < 5; i++) expect((await stack.http('GET', '/reservations', { token, headers: from(`198.51.100.${20 + i}`) })).status).to.equal(200);
      const refused = await stack.http('GET', '/reservations', { token, headers: from('198.51.100.30') });
      expectRateLimited(refused);
      expect(refused.headers.get('ratelimit-policy')).to.equal('5;w=60');
      // Counted before the body is read: a bad body from that user is refused too, not a 400.
      expectRateLimited(await stack.http('POST', '/reserve', { token, rawBody: '{"event_id":', headers: { ...from('198.51.100.31'), 'content-type': 'application/json' } }));
    });
  });

  describe('requests queued at once per user', () => {
    let stack: TestStack;
    before(async () => {
      stack = await startTestStack({ gateway: true }, { maxQueuedPerUser: 2 });
    });
    after(async () => {
      await stack.close();
    });

    it('a user with 2 requests queued for an event is refused a 3rd (429 rate_limited) until one leaves the queue', async () => {
      const { eventId } = await seedEvent(stack, { total_stock: 10 });
      const token = stack.token('user', 'bot');
      const body = { event_id: eventId, category: 'VIP', qty: 1 };
      const first = await stack.http('POST', '/reserve', { token, body });
      expect(first.status).to.equal(202);
      expect((await stack.http('POST', '/reserve', { token, body })).status).to.equal(202);
      expectRateLimited(await stack.http('POST', '/reserve', { token, body }));
      expect((await stack.http('POST', '/reserve', { token: stack.token('user', 'human'), body })).status).to.equal(202);
      await stack.http('DELETE', `/reservations/${first.body.reservation_id}`, { token });
      expect((await stack.http('POST', '/reserve', { token, body })).status).to.equal(202);
    });
  });
});
