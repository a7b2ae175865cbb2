import { expect } from 'chai';
import type pg from 'pg';
import { createPool } from '../core/pg.ts';
import { SimulatedPayment, type PaymentGateway, type PaymentRequest } from '../gateway/payment/simulated-payment.ts';
import { testLogger, waitFor } from './support/env.ts';
import { seedEvent, startTestStack, type HttpResult, type TestStack } from './support/stack.ts';

/** The simulated provider, counting every charge it accepted, per booking. */
class CountingPayment implements PaymentGateway {
  readonly charges = new Map<string, number>();
  readonly #inner = new SimulatedPayment({ latencyMs: 150, declineRate: 0 });

  async charge(request: PaymentRequest): Promise<boolean> {
    const isPaid = await this.#inner.charge(request);
    if (isPaid) this.charges.set(request.bookingId, (this.charges.get(request.bookingId) ?? 0) + 1);
    return isPaid;
  }

  async refund(): Promise<void> {}
}

// A reservation's whole life over HTTP, with gateway, shard and persister on the real servers: holds
// of 2 s, a payment that takes 150 ms. Includes the regression tests of the Go original's faults.
describe('reservation lifecycle end to end', function () {
  this.timeout(60_000);
  let stack: TestStack;
  let db: pg.Pool;
  const payment = new CountingPayment();

  before(async () => {
    stack = await startTestStack({ gateway: true, shard: true, persister: true, payment }, { reservationTtlMs: 2_000, reaperIntervalMs: 100 });
    db = createPool(stack.config.databaseUrl, testLogger());
  });
  after(async () => {
    await db.end();
    await stack.close();
  });

  const user = (sub: string) => stack.token('user', sub);
  const reserve = (token: string, body: Record<string, unknown>, headers: Record<string, string> = {}) => stack.http('POST', '/reserve', { token, body, headers });
  /** Reserves with Prefer: wait and expects the hold. */
  async function held(eventId: string, sub: string, qty = 1): Promise<string> {
    const res = await reserve(user(sub), { event_id: eventId, category: 'VIP', qty }, { prefer: 'wait=10' });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    expect(res.body.status).to.equal('reserved');
    return res.body.reservation_id as string;
  }
  const availability = async (eventId: string) => (await stack.http('GET', `/events/${eventId}/availability`)).body.categories[0];
  const confirm = (sub: string, body: Record<string, unknown>, headers: Record<string, string> = {}) => stack.http('POST', '/confirm', { token: user(sub), body, headers });
  const pgRow = async (id: string) => (await db.query('SELECT status, version, booking_id FROM reservations WHERE id = $1', [id])).rows[0];
  function expectProblem(res: HttpResult, status: number, code: string) {
    expect(res.status, JSON.stringify(res.body)).to.equal(status);
    expect(res.body.code).to.equal(code);
  }

  it('an abandoned hold really returns its seats, within 2 s of expires_at, and Postgres records it expired', async () => {
    const { eventId } = await seedEvent(stack, { total_stock: 2 });
    const id = await held(eventId, 'abandoner', 2);
    expect(await availability(eventId)).to.include({ available: 0, held: 2 });
    const { body } = await stack.http('GET', `/reservations/${id}`, { token: user('abandoner') });
    const expiresAt = Date.parse(body.expires_at);
    const back = await waitFor('the seats to come back', async () => ((await availability(eventId)).available === 2 ? Date.now() : undefined), 10_000);
    expect(back - expiresAt, 'ms after expires_at').to.be.below(2_000);
    expect((await stack.http('GET', `/reservations/${id}`, { token: user('abandoner') })).body.status).to.equal('expired');
    await waitFor('Postgres to record the expiry', async () => (await pgRow(id))?.status === 'expired' || undefined);
  });

  it('two concurrent confirms of one reservation both get 200 with the same booking_id, and one charge', async () => {
    const { eventId } = await seedEvent(stack, { total_stock: 5 });
    const id = await held(eventId, 'twice');
    const [a, b] = await Promise.all([confirm('twice', { reservation_id: id }), confirm('twice', { reservation_id: id })]);
    expect([a.status, b.status]).to.deep.equal([200, 200]);
    expect(a.body).to.include({ reservation_id: id, status: 'confirmed', payment_status: 'paid' });
    expect(b.body.booking_id).to.equal(a.body.booking_id);
    expect(payment.charges.get(a.body.booking_id)).to.equal(1);
    expect(await availability(eventId)).to.include({ available: 4, held: 0 });
    const row = await waitFor('the booking in Postgres', async () => {
      const { rows } = await db.query('SELECT id, qty FROM bookings WHERE reservation_id = $1', [id]);
      return rows[0];
    });
    expect(row).to.deep.equal({ id: a.body.booking_id, qty: 1 });
  });

  it('payment_ok false on an already confirmed reservation changes nothing (200, same booking)', async () => {
    const { eventId } = await seedEvent(stack, { total_stock: 5 });
    const id = await held(eventId, 'paid');
    const first = await confirm('paid', { reservation_id: id });
    const again = await confirm('paid', { reservation_id: id, payment_ok: false });
    expect(again.status).to.equal(200);
    expect(again.body.booking_id).to.equal(first.body.booking_id);
    expect((await stack.http('GET', `/reservations/${id}`, { token: user('paid') })).body).to.include({ status: 'confirmed', booking_id: first.body.booking_id });
    expect(payment.charges.get(first.body.booking_id)).to.equal(1);
  });

  it('a declined payment is 402 and the hold stays reserved, so a retry can confirm it', async () => {
    const { eventId } = await seedEvent(stack, { total_stock: 5 });
    const id = await held(eventId, 'declined');
    expectProblem(await confirm('declined', { reservation_id: id, payment_ok: false }), 402, 'payment_failed');
    expect((await stack.http('GET', `/reservations/${id}`, { token: user('declined') })).body.status).to.equal('reserved');
    expect(await availability(eventId)).to.include({ held: 1 });
    expect((await confirm('declined', { reservation_id: id })).status).to.equal(200);
  });

  it("another user's reservation is 404 on GET, confirm and cancel, and stays untouched", async () => {
    const { eventId } = await seedEvent(stack, { total_stock: 5 });
    const id = await held(eventId, 'owner');
    expectProblem(await stack.http('GET', `/reservations/${id}`, { token: user('thief') }), 404, 'reservation_not_found');
    expectProblem(await confirm('thief', { reservation_id: id }), 404, 'reservation_not_found');
    expectProblem(await stack.http('DELETE', `/reservations/${id}`, { token: user('thief') }), 404, 'reservation_not_found');
    expect((await stack.http('GET', `/reservations/${id}`, { token: user('owner') })).body.status).to.equal('reserved');
  });

  it('confirm after expires_at is 409 hold_expired; confirm of a rejected one is 409 not_confirmable', async () => {
    const { eventId } = await seedEvent(stack, { total_stock: 2 }, { max_per_user: 1 });
    const id = await held(eventId, 'slow');
    expectProblem(await reserve(user('second'), { event_id: eventId, category: 'VIP', qty: 2 }, { prefer: 'wait=10' }), 400, 'invalid_request');
    // Admitted (a seat is free), then refused by the decision (the cap): a rejected reservation.
    const refused = await reserve(user('slow'), { event_id: eventId, category: 'VIP', qty: 1 }, { prefer: 'wait=10' });
    expectProblem(refused, 409, 'limit_exceeded');
    const expiresAt = Date.parse((await stack.http('GET', `/reservations/${id}`, { token: user('slow') })).body.expires_at);
    await waitFor('the hold to pass expires_at', () => Date.now() > expiresAt + 50 || undefined);
    expectProblem(await confirm('slow', { reservation_id: id }), 409, 'hold_expired');
    expect(refused.body.reservation_id).to.be.a('string');
    expectProblem(await confirm('slow', { reservation_id: refused.body.reservation_id }), 409, 'not_confirmable');
  });

  it('cancel: a held seat is sellable at once, a repeat answers the same, a confirmed one is 409', async () => {
    const { eventId } = await seedEvent(stack, { total_stock: 1 });
    const id = await held(eventId, 'canceller');
    const cancelled = await stack.http('DELETE', `/reservations/${id}`, { token: user('canceller') });
    expect(cancelled.status).to.equal(200);
    expect(cancelled.body).to.include({ reservation_id: id, status: 'cancelled' });
    expect(await availability(eventId)).to.include({ available: 1, held: 0 });
    const repeat = await stack.http('DELETE', `/reservations/${id}`, { token: user('canceller') });
    expect(repeat.status).to.equal(200);
    expect(repeat.body.status).to.equal('cancelled');
    const next = await held(eventId, 'next-buyer');
    await confirm('next-buyer', { reservation_id: next });
    expectProblem(await stack.http('DELETE', `/reservations/${next}`, { token: user('next-buyer') }), 409, 'not_cancellable');
    await waitFor('Postgres to record the cancel', async () => (await pgRow(id))?.status === 'cancelled' || undefined);
  });

  it("the per-user cap: a user's holds and bookings never pass max_per_user (409 limit_exceeded)", async () => {
    const { eventId } = await seedEvent(stack, { total_stock: 10 }, { max_per_user: 3 });
    const first = await held(eventId, 'collector', 2);
    await confirm('collector', { reservation_id: first });
    await held(eventId, 'collector', 1);
    expectProblem(await reserve(user('collector'), { event_id: eventId, category: 'VIP', qty: 1 }, { prefer: 'wait=10' }), 409, 'limit_exceeded');
    expect(await availability(eventId)).to.include({ available: 7 });
  });

  it('Idempotency-Key on reserve: the same body gives the same reservation and enqueues once; another body is 422', async () => {
    const { eventId } = await seedEvent(stack, { total_stock: 10 });
    const token = user('retrier');
    const body = { event_id: eventId, category: 'VIP', qty: 1 };
    const results = await Promise.all(Array.from({ length: 20 }, () => reserve(token, body, { 'idempotency-key': 'order-42' })));
    expect(results.every((r) => r.status === 202)).to.equal(true);
    expect(new Set(results.map((r) => r.body.reservation_id)).size).to.equal(1);
    await waitFor('the decision', async () => (await availability(eventId)).held === 1 || undefined);
    const later = await reserve(token, body, { 'idempotency-key': 'order-42' });
    expect(later.body).to.include({ reservation_id: results[0]!.body.reservation_id, status: 'reserved' });
    expect(await availability(eventId)).to.include({ available: 9, held: 1 });
    expectProblem(await reserve(token, { ...body, qty: 2 }, { 'idempotency-key': 'order-42' }), 422, 'idempotency_key_reused');
    expectProblem(await reserve(token, body, { 'idempotency-key': 'x'.repeat(129) }), 400, 'invalid_request');
  });

  it('Idempotency-Key on confirm: a replay is the same 200; a 402 is not stored, so the key can be retried', async () => {
    const { eventId } = await seedEvent(stack, { total_stock: 10 });
    const id = await held(eventId, 'keyed');
    expectProblem(await confirm('keyed', { reservation_id: id, payment_ok: false }, { 'idempotency-key': 'pay-1' }), 402, 'payment_failed');
    const ok = await confirm('keyed', { reservation_id: id, payment_ok: true }, { 'idempotency-key': 'pay-1' });
    expect(ok.status).to.equal(200);
    const replay = await confirm('keyed', { reservation_id: id, payment_ok: true }, { 'idempotency-key': 'pay-1' });
    expect(replay.body.booking_id).to.equal(ok.body.booking_id);
    expectProblem(await confirm('keyed', { reservation_id: id, payment_ok: false }, { 'idempotency-key': 'pay-1' }), 422, 'idempotency_key_reused');
  });

  it('GET /reservations lists the caller\'s own, newest first, paginated', async () => {
    const { eventId } = await seedEvent(stack, { total_stock: 10 });
    const lister = `lister-${eventId}`; // users span events: one of this run's own
    const ids = [await held(eventId, lister), await held(eventId, lister), await held(eventId, lister)];
    await held(eventId, 'someone-else');
    const page = await waitFor('Postgres to list all three', async () => {
      const r = await stack.http('GET', '/reservations?limit=2', { token: user(lister) });
      return r.body.next_cursor ? r : undefined;
    });
    expect(page.body.reservations.map((r: { reservation_id: string }) => r.reservation_id)).to.deep.equal([ids[2], ids[1]]);
    const rest = await stack.http('GET', `/reservations?limit=2&cursor=${page.body.next_cursor}`, { token: user(lister) });
    expect(rest.body.reservations.map((r: { reservation_id: string }) => r.reservation_id)).to.deep.equal([ids[0]]);
    expect(rest.body.next_cursor).to.equal(null);
  });

  it('Postgres never holds a placeholder row nor moves a status backwards', async () => {
    const { eventId } = await seedEvent(stack, { total_stock: 3 });
    const id = await held(eventId, 'history');
    await confirm('history', { reservation_id: id });
    const row = await waitFor('the confirmed row', async () => ((await pgRow(id))?.status === 'confirmed' ? pgRow(id) : undefined));
    expect(row.booking_id).to.be.a('string');
    const { rows } = await db.query(
      `SELECT count(*)::int AS n FROM reservations WHERE event_id = $1 AND (user_id = '' OR qty IS NULL OR seq_arrival IS NULL OR created_at IS NULL)`,
      [eventId],
    );
    expect(rows[0].n).to.equal(0);
    expect(row.version).to.be.at.least(3);
  });
});
