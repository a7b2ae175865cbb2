import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import type { Consumer } from 'kafkajs';
import { deleteTestTopics, testConfig, testLogger, waitFor } from '../test/support/env.ts';
import { consumeBatches, createKafka, ensureTopics, KafkaPublisher, type IncomingMessage } from './kafka.ts';

// consumeBatches against the real broker: how records sent a few at a time are grouped into batches.
describe('consumeBatches (real Kafka)', function () {
  this.timeout(90_000);
  const config = testConfig();
  const kafka = createKafka({ brokers: config.kafkaBrokers, clientId: 'consume-batches-test' }, testLogger());
  let publisher: KafkaPublisher;
  let consumer: Consumer | undefined;

  before(async () => {
    await ensureTopics(kafka, [config.reservationsTopic], 1);
    publisher = new KafkaPublisher(kafka);
  });
  after(async () => {
    await consumer?.disconnect();
    await publisher.close();
    await deleteTestTopics(config);
  });

  it('with fetchWaitMs, records sent one by one within the wait arrive in one or two batches, in order', async () => {
    const batches: IncomingMessage[][] = [];
    let isMember = false;
    consumer = await consumeBatches(
      kafka,
      { groupId: `${config.persisterGroupId}-fetch-wait`, topic: config.reservationsTopic, fromBeginning: true, fetchWaitMs: 2_000 },
      async (messages) => { batches.push(messages); },
      (member) => { isMember = member; },
    );
    await waitFor('the consumer in its group', () => isMember || undefined, 60_000);
    // 10 records, one every 30 ms: ~300 ms, far less than the 2 s the broker may hold a fetch, and far
    // less than its 64 KiB.
    for (let i = 1; i <= 10; i++) {
      await publisher.send(config.reservationsTopic, [{ key: 'k', value: `record ${i}` }]);
      await sleep(30);
    }
    await waitFor('every record consumed', () => batches.flat().length === 10 || undefined, 20_000);
    expect(batches.flat().map((m) => m.value?.toString())).to.deep.equal(Array.from({ length: 10 }, (_, i) => `record ${i + 1}`));
    // A fetch answered as soon as it has a record would see them one or two at a time; a fetch the
    // broker holds for the wait gets what came meanwhile. Two batches at most: a fetch in flight when
    // the first record came may be answered with it alone.
    expect(batches.length, `batches of ${batches.map((b) => b.length).join(', ')}`).to.be.at.most(2);
  });
});
