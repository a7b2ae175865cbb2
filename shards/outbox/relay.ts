import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { outboxEntryRecords } from '../../core/contracts.ts';
import type { OutgoingMessage } from '../../core/kafka.ts';
import type { Logger } from '../../core/logger.ts';

/**
 * Publishes the outbox streams of the events this shard owns to Kafka, in stream order, and deletes
 * each entry only after Kafka acknowledged it. Entries are never trimmed unpublished, so a Kafka outage
 * only grows the backlog; delivery is at least once (a crash between the ack and XDEL re-sends), which
 * the persister absorbs by version.
 *
 * Published entries are deleted, so reading every stream from id 0 returns exactly the unpublished ones,
 * and XREAD BLOCK wakes the relay as soon as a script appends.
 */
export interface Publisher {
  send(topic: string, messages: readonly OutgoingMessage[]): Promise<void>;
}

export interface RelaySettings {
  readonly topic: string;
  readonly batchSize: number;
  readonly blockMs: number;
  /**
   * After a read that drained the outboxes (fewer than `batchSize` records), how long to wait before the
   * next read, so that records coming a few at a time go to Kafka together: fewer, larger sends (Kafka's
   * own producers call it `linger.ms`; kafkajs has none). A record that finds the relay idle is sent at
   * once; under steady traffic a record waits at most this long more. 0: read again at once.
   */
  readonly lingerMs?: number;
  readonly outboxKey: (eventId: string) => string;
  /** told of an event's records once Kafka acknowledged them (metrics) */
  readonly onPublished?: (eventId: string, records: readonly { type: string; value: string }[]) => void;
}

const MAX_BACKOFF_MS = 5_000;

export class OutboxRelay {
  readonly #reader: Redis;
  readonly #writer: Redis;
  readonly #publisher: Publisher;
  readonly #settings: RelaySettings;
  readonly #logger: Logger;
  #eventIds: string[] = [];
  #running = false;
  #loop: Promise<void> | undefined;
  #published = 0;
  /** entries read per stream at once: about batchSize records (a decision entry carries many) */
  #readCount: number;
  /** Aborted by close(), which ends a pause at once. */
  #stopping = new AbortController();

  /** `reader` is a connection of the relay's own (XREAD BLOCK holds it); `writer` may be shared. */
  constructor(reader: Redis, writer: Redis, publisher: Publisher, settings: RelaySettings, logger: Logger) {
    this.#reader = reader;
    this.#writer = writer;
    this.#publisher = publisher;
    this.#settings = settings;
    this.#logger = logger.child({ component: 'outbox-relay' });
    this.#readCount = settings.batchSize;
  }

  /** Records (Kafka messages) published since start (for tests and metrics). */
  get published(): number {
    return this.#published;
  }

  setEvents(eventIds: Iterable<string>): void {
    this.#eventIds = [...eventIds];
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#stopping = new AbortController();
    this.#loop = this.#run();
  }

  async close(): Promise<void> {
    this.#running = false;
    this.#reader.disconnect();
    this.#stopping.abort();
    await this.#loop;
  }

  /** Waits `ms`, or until close(). */
  async #pause(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.#stopping.signal }).catch(() => undefined);
  }

  async #run(): Promise<void> {
    let backoffMs = 100;
    while (this.#running) {
      try {
        const sent = await this.#publishOnce();
        backoffMs = 100;
        if (sent === 0 && this.#eventIds.length === 0) await this.#pause(this.#settings.blockMs);
        else if (sent > 0 && sent < this.#settings.batchSize && this.#settings.lingerMs) await this.#pause(this.#settings.lingerMs);
      } catch (err) {
        if (!this.#running) break;
        this.#logger.warn({ err: (err as Error).message, retry_in_ms: backoffMs }, 'outbox publish failed; will retry');
        await this.#pause(backoffMs);
        backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS);
      }
    }
  }

  async #publishOnce(): Promise<number> {
    const eventIds = this.#eventIds;
    if (eventIds.length === 0) return 0;
    const keys = eventIds.map(this.#settings.outboxKey);
    const reply = (await this.#reader.xread(
      'COUNT',
      this.#readCount,
      'BLOCK',
      this.#settings.blockMs,
      'STREAMS',
      ...keys,
      ...keys.map(() => '0'),
    )) as [string, [string, string[]][]][] | null;
    if (!reply) return 0;
    let sent = 0;
    let read = 0;
    for (const [key, entries] of reply) {
      read += entries.length;
      if (entries.length === 0) continue;
      const eventId = eventIds[keys.indexOf(key)]!;
      // An entry may carry a decision batch's snapshots: a message each, sent in chunks of batchSize.
      const records = entries.flatMap(([, fields]) => outboxEntryRecords(fields));
      const messages = records.map((r): OutgoingMessage => ({
        key: eventId,
        value: r.value,
        headers: r.requestId ? { type: r.type, request_id: r.requestId } : { type: r.type },
      }));
      for (let i = 0; i < messages.length; i += this.#settings.batchSize) {
        await this.#publisher.send(this.#settings.topic, messages.slice(i, i + this.#settings.batchSize));
      }
      await this.#writer.xdel(key, ...entries.map(([id]) => id));
      sent += messages.length;
      this.#settings.onPublished?.(eventId, records);
    }
    this.#published += sent;
    // Read about batchSize records next time, whatever the entries carry.
    if (read > 0) this.#readCount = Math.max(1, Math.min(this.#settings.batchSize, Math.floor((this.#settings.batchSize * read) / Math.max(sent, 1))));
    return sent;
  }
}
