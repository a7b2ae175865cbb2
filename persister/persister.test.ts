import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { Consumer } from 'kafkajs';
import type pg from 'pg';
import type { RefusalRecord, ReservationSnapshot } from '../core/contracts.ts';
import { createKafka, KafkaPublisher } from '../core/kafka.ts';
import { createPool } from '../core/pg.ts';
import { deleteTestTopics, testConfig, testLogger, waitFor } from '../test/support/env.ts';
import { startPersister, type Persister } from './persister.ts';

// The persister on the real Kafka broker and PostgreSQL: messages go in through Kafka, rows are read back.
describe('persister (real Kafka and PostgreSQL)', function () {
  this.timeout(60_000);
  const config = testConfig();
  const kafka = createKafka({ brokers: config.kafkaBrokers, clientId: 'persister-test' }, testLogger());
  let persister: Persister;
  let publisher: KafkaPublisher;
  let db: pg.Pool;
  let dlqConsumer: Consumer;
  const deadLetters: { value: string; reason: string }[] = [];
  let eventId: string;
  let categoryId: string;

  before(async () => {
    db = createPool(config.databaseUrl, testLogger());
    eventId = (await db.query<{ id: string }>(`INSERT INTO events (name, date) VALUES ('Persisted', now()) RETURNING id`)).rows[0]!.id;
    categoryId = (await db.query<{ id: string }>(`INSERT INTO ticket_categories (event_id, name, name_key, total_stock, price) VALUES ($1, 'A', 'a', 10, 1) RETURNING id`, [eventId])).rows[0]!.id;
    persister = await startPersister(config, testLogger('persister'));
    publisher = new KafkaPublisher(kafka);
    dlqConsumer = kafka.consumer({ groupId: `${config.persisterGroupId}-dlq-reader` });
    await dlqConsumer.connect();
    await dlqConsumer.subscribe({ topic: config.deadLetterTopic, fromBeginning: true });
    await dlqConsumer.run({
      eachMessage: async ({ message }) => {
        deadLetters.push({ value: message.value?.toString() ?? '', reason: message.headers?.reason?.toString() ?? '' });
      },
    });
  });
  after(async () => {
    await dlqConsumer.disconnect();
    await publisher.close();
    await persister.close();
    await db.end();
    await deleteTestTopics(config);
  });

  const snapshot = (id: string, version: number, status: ReservationSnapshot['status'], extra: Partial<ReservationSnapshot> = {}): ReservationSnapshot => ({
    schema: 1,
    type: `reservation.${status}`,
    reservation_id: id,
    event_id: eventId,
    category_id: categoryId,
    category: 'A',
    user_id: 'u1',
    qty: 1,
    status,
    seq_arrival: 1,
    created_at: 1_764_000_000_000,
    updated_at: 1_764_000_000_000 + version,
    version,
    ...extra,
  });
  const send = (...snapshots: (ReservationSnapshot | string)[]) =>
    publisher.send(config.reservationsTopic, snapshots.map((s) => ({ key: eventId, value: typeof s === 'string' ? s : JSON.stringify(s) })));
  const row = async (id: string) => (await db.query('SELECT status, version, reason, seq_decision FROM reservations WHERE id = $1', [id])).rows;

  it('the same message delivered twice leaves one row', async () => {
    const id = `${eventId}.${randomUUID()}`;
    const reserved = snapshot(id, 2, 'reserved', { seq_decision: 1, expires_at: 1_764_000_300_000, decided_at: 1_764_000_000_002 });
    await send(reserved);
    await send(reserved);
    const rows = await waitFor('the row', async () => ((await row(id)).length === 1 ? row(id) : undefined));
    expect(rows).to.deep.equal([{ status: 'reserved', version: 2, reason: null, seq_decision: '1' }]);
    const { rows: count } = await db.query('SELECT count(*)::int AS n FROM reservations WHERE id = $1', [id]);
    expect(count[0].n).to.equal(1);
  });

  it('an older version arriving after a newer one does not move the row backwards', async () => {
    const id = `${eventId}.${randomUUID()}`;
    await send(snapshot(id, 2, 'rejected', { reason: 'out_of_stock', seq_decision: 4 }));
    await waitFor('the newer row', async () => (await row(id))[0]?.version === 2 || undefined);
    await send(snapshot(id, 1, 'queued'));
    // A marker after the old message: once it is stored, the old message has been processed too.
    const marker = `${eventId}.${randomUUID()}`;
    await send(snapshot(marker, 1, 'queued'));
    await waitFor('the marker row', async () => (await row(marker)).length === 1 || undefined);
    expect(await row(id)).to.deep.equal([{ status: 'rejected', version: 2, reason: 'out_of_stock', seq_decision: '4' }]);
  });

  it('both versions in one batch: the newest wins', async () => {
    const id = `${eventId}.${randomUUID()}`;
    await send(snapshot(id, 2, 'reserved', { seq_decision: 9 }), snapshot(id, 1, 'queued'));
    const rows = await waitFor('the row', async () => ((await row(id)).length === 1 ? row(id) : undefined));
    expect(rows[0]).to.include({ status: 'reserved', version: 2 });
  });

  it('an unparseable message goes to the dead-letter topic and does not block the messages after it', async () => {
    const id = `${eventId}.${randomUUID()}`;
    await send('{"not": "a snapshot"}', 'garbage{', snapshot(id, 1, 'queued'));
    await waitFor('the valid row', async () => (await row(id)).length === 1 || undefined);
    await waitFor('two dead letters', () => deadLetters.filter((d) => d.reason.startsWith('unparseable')).length >= 2 || undefined);
    expect(deadLetters.map((d) => d.value)).to.include.members(['{"not": "a snapshot"}', 'garbage{']);
  });

  it('a request refused at the door becomes one refusals row, once; a malformed refusal is dead-lettered', async () => {
    const id = `${eventId}.${randomUUID()}`;
    const refusal: RefusalRecord = {
      schema: 1, type: 'request.refused', reservation_id: id, request_id: 'req-9', event_id: eventId, category_id: categoryId, user_id: 'u9',
      qty: 2, seq_arrival: 77, reason: 'queue_full', received_at: 1_764_000_000_123,
    };
    const malformed = JSON.stringify({ ...refusal, reservation_id: `${id}-bad`, reason: 'because' });
    await send(JSON.stringify(refusal), malformed, JSON.stringify(refusal));
    const refusals = async () => (await db.query('SELECT user_id, qty, seq_arrival, reason, received_at, request_id FROM refusals WHERE reservation_id = $1', [id])).rows;
    const rows = await waitFor('the refusal row', async () => ((await refusals()).length > 0 ? refusals() : undefined));
    expect(rows).to.deep.equal([{ user_id: 'u9', qty: 2, seq_arrival: '77', reason: 'queue_full', received_at: new Date(1_764_000_000_123), request_id: 'req-9' }]);
    await waitFor('the malformed refusal dead-lettered', () => deadLetters.some((d) => d.value === malformed && d.reason.includes('reason')) || undefined);
  });

  it('a snapshot Postgres refuses (unknown event) is dead-lettered and the rest of its batch is stored', async () => {
    const good = `${eventId}.${randomUUID()}`;
    const orphan = snapshot(`${randomUUID()}.${randomUUID()}`, 1, 'queued', { event_id: randomUUID() });
    await send(orphan, snapshot(good, 1, 'queued'));
    await waitFor('the good row', async () => (await row(good)).length === 1 || undefined);
    await waitFor('the refused snapshot in the dead-letter topic', () => deadLetters.some((d) => d.value.includes(orphan.reservation_id) && d.reason.includes('23503')) || undefined);
    expect(await row(orphan.reservation_id)).to.deep.equal([]);
  });
});
