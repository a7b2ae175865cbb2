import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { createPool } from '../core/pg.ts';
import { seedEvent, startTestStack, type HttpResult, type TestStack } from '../test/support/stack.ts';
import { testLogger } from '../test/support/env.ts';

// The gateway's HTTP contract (shared/API.md) against the real Redis and PostgreSQL.
describe('gateway routes', function () {
  let stack: TestStack;
  let admin: string;
  let user: string;

  before(async () => {
    stack = await startTestStack({ gateway: true });
    admin = stack.token('admin', 'admin-1');
    user = stack.token('user', 'user-1');
  });
  after(async () => {
    await stack.close();
  });

  function expectProblem(res: HttpResult, status: number, code: string): void {
    expect(res.status, JSON.stringify(res.body)).to.equal(status);
    expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
    expect(res.body).to.include({ status, code });
    expect(res.body.title).to.be.a('string');
    expect(JSON.stringify(res.body)).not.to.match(/at .*\.ts:\d+|node_modules|stack/i);
  }

  function expectInvalid(res: HttpResult, ...fields: string[]): void {
    expectProblem(res, 400, 'invalid_request');
    const names = (res.body.invalid_params as { name: string; reason: string }[]).map((p) => p.name);
    for (const field of fields) expect(names, JSON.stringify(res.body.invalid_params)).to.include(field);
    for (const p of res.body.invalid_params as { reason: string }[]) expect(p.reason).to.be.a('string').and.not.equal('');
  }

  describe('health', () => {
    it('GET /health answers 200 and GET /ready answers 200 while Redis is up', async () => {
      expect((await stack.http('GET', '/health')).status).to.equal(200);
      const ready = await stack.http('GET', '/ready');
      expect(ready.status).to.equal(200);
      expect(ready.body).to.deep.include({ status: 'ready' });
    });
  });

  describe('events', () => {
    it('an admin creates an event and reads it back with its categories', async () => {
      const created = await stack.http('POST', '/events', { token: admin, body: { name: '  Night Show ', date: '2027-03-01T19:30:00+01:00', max_per_user: 2 } });
      expect(created.status).to.equal(201);
      expect(created.body).to.include({ name: 'Night Show', date: '2027-03-01T18:30:00.000Z', max_per_user: 2, sale_state: 'open', sales_open_at: null });
      expect(created.headers.get('location')).to.equal(`/events/${created.body.id}`);
      const cat = await stack.http('POST', `/events/${created.body.id}/ticket-category`, { token: admin, body: { name: 'Floor', total_stock: 50, price: 4500 } });
      expect(cat.status).to.equal(201);
      expect(cat.body).to.include({ event_id: created.body.id, name: 'Floor', total_stock: 50, price: 4500 });
      const read = await stack.http('GET', `/events/${created.body.id}`);
      expect(read.status).to.equal(200);
      expect(read.body.categories).to.deep.equal([{ id: cat.body.id, name: 'Floor', total_stock: 50, price: 4500 }]);
    });

    it('max_per_user defaults to 4 and a future sales_open_at makes the sale scheduled', async () => {
      const created = await stack.http('POST', '/events', { token: admin, body: { name: 'Later', date: '2027-03-01T19:30:00Z', sales_open_at: '2099-01-01T00:00:00Z' } });
      expect(created.body).to.include({ max_per_user: 4, sale_state: 'scheduled', sales_open_at: '2099-01-01T00:00:00.000Z' });
    });

    it('GET /events lists newest first and pages with a cursor', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push((await stack.http('POST', '/events', { token: admin, body: { name: `Paged ${i}`, date: '2027-01-01T00:00:00Z' } })).body.id);
      const first = await stack.http('GET', '/events?limit=2');
      expect(first.status).to.equal(200);
      expect(first.body.events.map((e: { id: string }) => e.id)).to.deep.equal([ids[2], ids[1]]);
      expect(first.body.next_cursor).to.be.a('string');
      const second = await stack.http('GET', `/events?limit=2&cursor=${first.body.next_cursor}`);
      expect(second.body.events[0].id).to.equal(ids[0]);
    });

    it('category names are unique per event whatever their case, and returned as given', async () => {
      const { eventId } = await seedEvent(stack, { name: 'Balcony', total_stock: 5 });
      const dup = await stack.http('POST', `/events/${eventId}/ticket-category`, { token: admin, body: { name: 'BALCONY', total_stock: 5, price: 1 } });
      expectProblem(dup, 409, 'category_exists');
      const unicode = await stack.http('POST', `/events/${eventId}/ticket-category`, { token: admin, body: { name: 'Église', total_stock: 5, price: 1 } });
      expect(unicode.status).to.equal(201);
      expectProblem(await stack.http('POST', `/events/${eventId}/ticket-category`, { token: admin, body: { name: 'ÉGLISE', total_stock: 5, price: 1 } }), 409, 'category_exists');
    });

    it('availability shows total, available and held per category', async () => {
      const { eventId, categoryId } = await seedEvent(stack, { total_stock: 7, price: 900 });
      const res = await stack.http('GET', `/events/${eventId}/availability`);
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal({ event_id: eventId, sale_state: 'open', categories: [{ id: categoryId, name: 'VIP', total_stock: 7, available: 7, held: 0, price: 900 }] });
    });

    it('a category written to Postgres whose Redis stock was never initialised is repaired on first use, not stuck at 0', async () => {
      const { eventId } = await seedEvent(stack, { name: 'A', total_stock: 1 });
      // Simulate a crash between the Postgres insert and the Redis initialisation.
      const db = createPool(stack.config.databaseUrl, testLogger());
      await db.query(`INSERT INTO ticket_categories (event_id, name, name_key, total_stock, price) VALUES ($1, 'Crashed', 'crashed', 3, 100)`, [eventId]);
      await db.end();
      const reserve = await stack.http('POST', '/reserve', { token: user, body: { event_id: eventId, category: 'crashed', qty: 2 } });
      expect(reserve.status, JSON.stringify(reserve.body)).to.equal(202);
      const availability = await stack.http('GET', `/events/${eventId}/availability`);
      expect(availability.body.categories.find((c: { name: string }) => c.name === 'Crashed')).to.include({ total_stock: 3, available: 3 });
    });
  });

  describe('reserve and poll', () => {
    it('POST /reserve answers 202 with Location, Retry-After and position; the owner polls it queued', async () => {
      const { eventId } = await seedEvent(stack, { total_stock: 10 });
      const first = await stack.http('POST', '/reserve', { token: user, body: { event_id: eventId, category: 'vip', qty: 2 } });
      const second = await stack.http('POST', '/reserve', { token: stack.token('user', 'user-2'), body: { event_id: eventId, category: 'VIP', qty: 1 } });
      expect(first.status).to.equal(202);
      expect(first.body).to.include({ status: 'queued', position: 0 });
      expect(second.body.position).to.equal(1);
      expect(first.headers.get('location')).to.equal(`/reservations/${first.body.reservation_id}`).and.equal(first.body.status_url);
      expect(first.headers.get('retry-after')).to.equal('1');
      const poll = await stack.http('GET', first.body.status_url, { token: user });
      expect(poll.status).to.equal(200);
      expect(poll.body).to.include({ reservation_id: first.body.reservation_id, user_id: 'user-1', event_id: eventId, category: 'VIP', qty: 2, status: 'queued', position: 0 });
      expect(Date.parse(poll.body.created_at)).to.be.a('number').and.not.NaN;
      const asAdmin = await stack.http('GET', first.body.status_url, { token: admin });
      expect(asAdmin.status).to.equal(200);
    });

    it("another user's reservation is 404, the same as a missing one", async () => {
      const { eventId } = await seedEvent(stack, { total_stock: 10 });
      const mine = await stack.http('POST', '/reserve', { token: user, body: { event_id: eventId, category: 'VIP', qty: 1 } });
      expectProblem(await stack.http('GET', mine.body.status_url, { token: stack.token('user', 'intruder') }), 404, 'reservation_not_found');
      expectProblem(await stack.http('GET', `/reservations/${eventId}.${randomUUID()}`, { token: user }), 404, 'reservation_not_found');
      expectProblem(await stack.http('GET', '/reservations/not-an-id', { token: user }), 404, 'reservation_not_found');
    });
  });

  describe('400 for each invalid field, with invalid_params naming it', () => {
    const event = { name: 'X', date: '2027-01-01T00:00:00Z' };
    const cases: [string, Record<string, unknown>, string][] = [
      ['name missing', { date: event.date }, 'name'],
      ['name blank', { ...event, name: '   ' }, 'name'],
      ['name not a string', { ...event, name: 5 }, 'name'],
      ['date missing', { name: 'X' }, 'date'],
      ['date not RFC 3339', { ...event, date: '01/01/2027' }, 'date'],
      ['max_per_user 0', { ...event, max_per_user: 0 }, 'max_per_user'],
      ['max_per_user not an integer', { ...event, max_per_user: 1.5 }, 'max_per_user'],
      ['max_per_user a string', { ...event, max_per_user: '2' }, 'max_per_user'],
      ['sales_open_at invalid', { ...event, sales_open_at: 'soon' }, 'sales_open_at'],
      ['sales_close_at before sales_open_at', { ...event, sales_open_at: '2027-01-02T00:00:00Z', sales_close_at: '2027-01-01T00:00:00Z' }, 'sales_close_at'],
      ['an unknown field', { ...event, colour: 'red' }, 'colour'],
    ];
    for (const [what, body, field] of cases) {
      it(`POST /events: ${what}`, async () => {
        expectInvalid(await stack.http('POST', '/events', { token: admin, body }), field);
      });
    }

    it('POST /events names every bad field at once', async () => {
      expectInvalid(await stack.http('POST', '/events', { token: admin, body: { max_per_user: -1 } }), 'name', 'date', 'max_per_user');
    });

    const category = { name: 'A', total_stock: 1, price: 0 };
    const categoryCases: [string, Record<string, unknown>, string][] = [
      ['name missing', { total_stock: 1, price: 0 }, 'name'],
      ['name too long', { ...category, name: 'x'.repeat(101) }, 'name'],
      ['total_stock 0', { ...category, total_stock: 0 }, 'total_stock'],
      ['total_stock fractional', { ...category, total_stock: 2.5 }, 'total_stock'],
      ['price negative', { ...category, price: -1 }, 'price'],
      ['price fractional', { ...category, price: 9.99 }, 'price'],
      ['price missing', { name: 'A', total_stock: 1 }, 'price'],
    ];
    for (const [what, body, field] of categoryCases) {
      it(`POST /events/{id}/ticket-category: ${what}`, async () => {
        const { eventId } = await seedEvent(stack, { total_stock: 1 });
        expectInvalid(await stack.http('POST', `/events/${eventId}/ticket-category`, { token: admin, body }), field);
      });
    }

    const reserveCases: [string, (eventId: string) => Record<string, unknown>, string][] = [
      ['event_id missing', () => ({ category: 'VIP', qty: 1 }), 'event_id'],
      ['event_id not a uuid', () => ({ event_id: 'abc', category: 'VIP', qty: 1 }), 'event_id'],
      ['category missing', (id) => ({ event_id: id, qty: 1 }), 'category'],
      ['category blank', (id) => ({ event_id: id, category: ' ', qty: 1 }), 'category'],
      ['qty 0', (id) => ({ event_id: id, category: 'VIP', qty: 0 }), 'qty'],
      ['qty fractional', (id) => ({ event_id: id, category: 'VIP', qty: 1.5 }), 'qty'],
      ['qty a string', (id) => ({ event_id: id, category: 'VIP', qty: '1' }), 'qty'],
      ['qty above max_per_user', (id) => ({ event_id: id, category: 'VIP', qty: 5 }), 'qty'],
      ['an unknown field', (id) => ({ event_id: id, category: 'VIP', qty: 1, user_id: 'someone-else' }), 'user_id'],
    ];
    for (const [what, body, field] of reserveCases) {
      it(`POST /reserve: ${what}`, async () => {
        const { eventId } = await seedEvent(stack, { total_stock: 10 });
        expectInvalid(await stack.http('POST', '/reserve', { token: user, body: body(eventId) }), field);
      });
    }

    it('a body that is not JSON, or not an object, is 400 naming the body', async () => {
      expectInvalid(await stack.http('POST', '/events', { token: admin, rawBody: '{"name":', headers: { 'content-type': 'application/json' } }), 'body');
      expectInvalid(await stack.http('POST', '/events', { token: admin, body: [1, 2] }), 'body');
      expectInvalid(await stack.http('POST', '/events', { token: admin }), 'body');
    });

    it('bad paging parameters are 400', async () => {
      expectInvalid(await stack.http('GET', '/events?limit=0'), 'limit');
      expectInvalid(await stack.http('GET', '/events?limit=abc'), 'limit');
      expectInvalid(await stack.http('GET', '/events?cursor=bogus'), 'cursor');
    });

    it('a body over the size limit is 413 and a non-JSON content type is 415', async () => {
      expectProblem(await stack.http('POST', '/events', { token: admin, body: { name: 'x'.repeat(20_000), date: '2027-01-01T00:00:00Z' } }), 413, 'payload_too_large');
      expectProblem(await stack.http('POST', '/events', { token: admin, rawBody: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'unsupported_media_type');
    });
  });

  describe('401 and 403', () => {
    const secret = () => stack.config.jwtSecret;
    const body = { name: 'X', date: '2027-01-01T00:00:00Z' };
    const now = () => Math.floor(Date.now() / 1000);

    it('no token, a malformed header or a garbage token is 401', async () => {
      expectProblem(await stack.http('POST', '/events', { body }), 401, 'unauthorized');
      expectProblem(await stack.http('POST', '/events', { body, headers: { authorization: 'Basic YWRtaW46YWRtaW4=' } }), 401, 'unauthorized');
      expectProblem(await stack.http('POST', '/events', { body, token: 'not.a.jwt' }), 401, 'unauthorized');
    });

    it('an expired token is 401', async () => {
      const expired = jwt.sign({ sub: 'admin-1', role: 'admin', exp: now() - 10 }, secret(), { algorithm: 'HS256' });
      expectProblem(await stack.http('POST', '/events', { body, token: expired }), 401, 'unauthorized');
    });

    it('a token signed with another secret is 401', async () => {
      const forged = jwt.sign({ sub: 'admin-1', role: 'admin' }, 'another-secret-of-sufficient-length!!', { algorithm: 'HS256', expiresIn: 60 });
      expectProblem(await stack.http('POST', '/events', { body, token: forged }), 401, 'unauthorized');
    });

    it('an unsigned alg:none token is 401', async () => {
      const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'admin-1', role: 'admin', exp: now() + 60 })}.`;
      expectProblem(await stack.http('POST', '/events', { body, token: none }), 401, 'unauthorized');
    });

    it('a token of another HMAC algorithm (HS512) is 401: the server is pinned to HS256', async () => {
      const hs512 = jwt.sign({ sub: 'admin-1', role: 'admin' }, secret(), { algorithm: 'HS512', expiresIn: 60 });
      expectProblem(await stack.http('POST', '/events', { body, token: hs512 }), 401, 'unauthorized');
    });

    it('a token without exp, or with an unknown role, is 401', async () => {
      const noExp = jwt.sign({ sub: 'admin-1', role: 'admin' }, secret(), { algorithm: 'HS256' });
      expectProblem(await stack.http('POST', '/events', { body, token: noExp }), 401, 'unauthorized');
      const badRole = jwt.sign({ sub: 'root', role: 'superuser' }, secret(), { algorithm: 'HS256', expiresIn: 60 });
      expectProblem(await stack.http('POST', '/events', { body, token: badRole }), 401, 'unauthorized');
    });

    it('a valid token of the wrong role is 403, checked before the body', async () => {
      expectProblem(await stack.http('POST', '/events', { body: {}, token: user }), 403, 'forbidden');
      const { eventId } = await seedEvent(stack, { total_stock: 1 });
      expectProblem(await stack.http('POST', `/events/${eventId}/ticket-category`, { body: {}, token: user }), 403, 'forbidden');
      expectProblem(await stack.http('POST', '/reserve', { body: { event_id: eventId, category: 'VIP', qty: 1 }, token: admin }), 403, 'forbidden');
    });

    it('GET /reservations/{id} needs a token', async () => {
      expectProblem(await stack.http('GET', `/reservations/${randomUUID()}.${randomUUID()}`), 401, 'unauthorized');
    });
  });

  describe('404', () => {
    it('an unknown event is 404 on read, availability, category creation and reserve', async () => {
      const missing = randomUUID();
      expectProblem(await stack.http('GET', `/events/${missing}`), 404, 'event_not_found');
      expectProblem(await stack.http('GET', '/events/not-a-uuid'), 404, 'event_not_found');
      expectProblem(await stack.http('GET', `/events/${missing}/availability`), 404, 'event_not_found');
      expectProblem(await stack.http('POST', `/events/${missing}/ticket-category`, { token: admin, body: { name: 'A', total_stock: 1, price: 1 } }), 404, 'event_not_found');
      expectProblem(await stack.http('POST', '/reserve', { token: user, body: { event_id: missing, category: 'VIP', qty: 1 } }), 404, 'event_not_found');
    });

    it('an unknown category is 404 on reserve', async () => {
      const { eventId } = await seedEvent(stack, { total_stock: 1 });
      expectProblem(await stack.http('POST', '/reserve', { token: user, body: { event_id: eventId, category: 'Backstage', qty: 1 } }), 404, 'category_not_found');
    });

    it('an unknown route is 404 problem+json', async () => {
      expectProblem(await stack.http('GET', '/nope'), 404, 'route_not_found');
    });
  });
});
