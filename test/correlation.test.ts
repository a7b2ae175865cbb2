import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { Consumer } from 'kafkajs';
import type pg from 'pg';
import { createKafka } from '../core/kafka.ts';
import { createPool } from '../core/pg.ts';
import { testLogger, waitFor } from './support/env.ts';
import { seedEvent, startTestStack, type TestStack } from './support/stack.ts';

// A request id (X-Request-Id) from the gateway travels with the reservation: in its Redis hash and job,
// in the Kafka messages of its changes (header and body), and in its PostgreSQL row; a request refused
// at the door keeps it in its refusal record.
describe('request id correlation end to end', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let db: pg.Pool;
  let consumer: Consumer;
  const seen: { requestId: string | undefined; type: string | undefined; body: Record<string, unknown> }[] = [];

  before(async () => {
    stack = await startTestStack({ gateway: true, shard: true, persister: true });
    db = createPool(stack.config.databaseUrl, testLogger());
    const kafka = createKafka({ brokers: stack.config.kafkaBrokers, clientId: 'correlation-test' }, testLogger());
    consumer = kafka.consumer({ groupId: `${stack.config.persisterGroupId}-correlation` });
    await consumer.connect();
    await consumer.subscribe({ topic: stack.config.reservationsTopic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push({
          requestId: message.headers?.request_id?.toString(),
          type: message.headers?.type?.toString(),
          body: JSON.parse(message.value?.toString() ?? '{}') as Record<string, unknown>,
        });
      },
    });
  });
  after(async () => {
    await consumer.disconnect();
    await db.end();
    await stack.close();
  });

  it("a reservation's request id is in the response, its Kafka messages and its PostgreSQL row; a refusal's too", async () => {
    const { eventId } = await seedEvent(stack, { total_stock: 1 });
    const requestId = `corr-${randomUUID()}`;
    const admitted = await stack.http('POST', '/reserve', {
      token: stack.token('user', 'c1'),
      body: { event_id: eventId, category: 'VIP', qty: 1 },
      headers: { 'x-request-id': requestId, prefer: 'wait=10' },
    });
    expect(admitted.status).to.equal(201);
    expect(admitted.headers.get('x-request-id')).to.equal(requestId);
    const reservationId = admitted.body.reservation_id as string;

    const refusedId = `corr-${randomUUID()}`;
    const refused = await stack.http('POST', '/reserve', { token: stack.token('user', 'c2'), body: { event_id: eventId, category: 'VIP', qty: 1 }, headers: { 'x-request-id': refusedId } });
    expect(refused.status).to.equal(409);
    expect(refused.headers.get('x-request-id')).to.equal(refusedId);

    // Kafka: the queued and the reserved snapshots, and the refusal, each with the id in header and body.
    const messages = await waitFor('the three messages', () => {
      const mine = seen.filter((m) => m.requestId === requestId || m.requestId === refusedId);
      return mine.length >= 3 ? mine : undefined;
    }, 60_000);
    expect(messages.filter((m) => m.requestId === requestId).map((m) => m.type).sort()).to.deep.equal(['reservation.queued', 'reservation.reserved']);
    for (const m of messages.filter((x) => x.requestId === requestId)) expect(m.body).to.include({ request_id: requestId, reservation_id: reservationId });
    expect(messages.find((m) => m.requestId === refusedId)!.body).to.include({ type: 'request.refused', request_id: refusedId, reason: 'out_of_stock' });

    // PostgreSQL: the reservation's row and the refusal's.
    await waitFor('the rows', async () => {
      const r = await db.query('SELECT request_id FROM reservations WHERE id = $1', [reservationId]);
      const f = await db.query('SELECT request_id FROM refusals WHERE event_id = $1', [eventId]);
      return r.rows[0]?.request_id === requestId && f.rows[0]?.request_id === refusedId || undefined;
    }, 60_000);
  });

  it('without a usable X-Request-Id the gateway makes one', async () => {
    const made = await stack.http('GET', '/health');
    expect(made.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
    const replaced = await stack.http('GET', '/health', { headers: { 'x-request-id': 'not a token; drop table' } });
    expect(replaced.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
  });
});
