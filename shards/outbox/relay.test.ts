import { randomUUID } from 'node:crypto';
import { setTimeout as pause } from 'node:timers/promises';
import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { createKafka, ensureTopics, KafkaPublisher, type OutgoingMessage } from '../../core/kafka.ts';
import { createRedis } from '../../core/redis.ts';
import { deleteTestKeys, deleteTestTopics, testConfig, testLogger, waitFor } from '../../test/support/env.ts';
import { OutboxRelay } from './relay.ts';

// The relay between a real Redis outbox and a real Kafka topic; each send is also recorded here, so the
// tests can tell how the records were grouped into sends.
describe('OutboxRelay', function () {
  this.timeout(60_000);
  const config = testConfig();
  let writer: Redis;
  let kafkaPublisher: KafkaPublisher;
  const relays: OutboxRelay[] = [];

  before(async () => {
    writer = createRedis(config.redisUrl, testLogger());
    const kafka = createKafka({ brokers: config.kafkaBrokers, clientId: 'relay-test' }, testLogger());
    await ensureTopics(kafka, [config.reservationsTopic], 1);
    kafkaPublisher = new KafkaPublisher(kafka);
    // Connected before the tests, so no test's first send waits for the producer's connection.
    await kafkaPublisher.send(config.reservationsTopic, [{ key: 'warm-up', value: '{}' }]);
  });
  afterEach(async () => {
    // close() also disconnects each relay's reader.
    await Promise.all(relays.splice(0).map((r) => r.close()));
  });
  after(async () => {
    await kafkaPublisher.close();
    await writer.quit();
    await deleteTestKeys(config);
    await deleteTestTopics(config);
  });

  /** A relay of one event's outbox, started, whose sends (each a list of record values) land in the returned array. */
  function startRelay(eventId: string, settings: { batchSize: number; lingerMs: number }): string[][] {
    const sends: string[][] = [];
    const reader = createRedis(config.redisUrl, testLogger());
    const publisher = {
      async send(topic: string, messages: readonly OutgoingMessage[]) {
        await kafkaPublisher.send(topic, messages);
        sends.push(messages.map((m) => String(m.value)));
      },
    };
    const relay = new OutboxRelay(reader, writer, publisher, {
      topic: config.reservationsTopic, batchSize: settings.batchSize, blockMs: 200, lingerMs: settings.lingerMs,
      outboxKey: (id) => `${config.keyPrefix}:outbox:${id}`,
    }, testLogger());
    relay.setEvents([eventId]);
    relay.start();
    relays.push(relay);
    return sends;
  }

  const outboxOf = (eventId: string) => `${config.keyPrefix}:outbox:${eventId}`;
  const append = (eventId: string, n: number) =>
    writer.xadd(outboxOf(eventId), '*', 'type', 'reservation.queued', 'snapshot', JSON.stringify({ type: 'reservation.queued', reservation_id: `${eventId}.${n}` }));
  const idsOf = (sends: string[][]) => sends.flat().map((v) => (JSON.parse(v) as { reservation_id: string }).reservation_id);

  it('sends a record that finds it idle at once, and holds the next for the linger', async () => {
    const eventId = randomUUID();
    const sends = startRelay(eventId, { batchSize: 500, lingerMs: 5_000 });
    await pause(300); // the relay is waiting on the empty outbox (XREAD BLOCK)
    await append(eventId, 1);
    await waitFor('the first record in Kafka, well before the linger', () => sends.length === 1 || undefined, 4_000);
    await append(eventId, 2);
    await pause(1_000);
    expect(sends, 'the second record waits for the linger').to.have.length(1);
    expect(await writer.xlen(outboxOf(eventId))).to.equal(1);
    await waitFor('the second record once the linger passed', () => sends.length === 2 || undefined, 10_000);
    expect(idsOf(sends)).to.deep.equal([`${eventId}.1`, `${eventId}.2`]);
    expect(await writer.xlen(outboxOf(eventId)), 'published entries are deleted').to.equal(0);
  });

  it('sends records that come one by one within the linger together, in order', async () => {
    const eventId = randomUUID();
    const sends = startRelay(eventId, { batchSize: 500, lingerMs: 300 });
    await pause(300);
    // 20 records over ~400 ms: one at once, then whatever came during each 300 ms linger.
    for (let i = 1; i <= 20; i++) {
      await append(eventId, i);
      await pause(20);
    }
    await waitFor('every record in Kafka', () => sends.flat().length === 20 || undefined);
    expect(idsOf(sends)).to.deep.equal(Array.from({ length: 20 }, (_, i) => `${eventId}.${i + 1}`));
    // Each send that drained the outbox is followed by 300 ms without one: over ~400 ms of appends that
    // allows at most 4 sends (the first at once, one per linger, the last after the appends ended);
    // without the linger each record would go alone.
    expect(sends.length, `sends of ${sends.map((s) => s.length).join(', ')} records`).to.be.within(1, 4);
  });

  it('reads a backlog again at once: a full batch is not held for the linger', async () => {
    const eventId = randomUUID();
    for (let i = 1; i <= 35; i++) await append(eventId, i);
    const sends = startRelay(eventId, { batchSize: 10, lingerMs: 5_000 });
    await waitFor('the whole backlog in Kafka, well before one linger', () => sends.flat().length === 35 || undefined, 4_000);
    expect(sends.map((s) => s.length)).to.deep.equal([10, 10, 10, 5]);
    expect(idsOf(sends)).to.deep.equal(Array.from({ length: 35 }, (_, i) => `${eventId}.${i + 1}`));
  });
});
