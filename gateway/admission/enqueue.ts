import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { MAX_BATCH, type QueuedRequest, type ReserveJob } from '../../core/contracts.ts';
import { eventWakeChannel, reserveQueueName } from '../../core/keys.ts';
import type { Logger } from '../../core/logger.ts';
import { FlushBatcher } from './flush-batcher.ts';

/**
 * The gateway's side of the per-event BullMQ queues. One Queue object per event, all sharing one
 * connection (a Queue needs no blocking connection). Admitted requests are queued in batches: the
 * requests of one event admitted while the previous job was being added go together in one job (see
 * FlushBatcher), so a hot event costs one job per round trip, not one per request. After each job the
 * gateway names the event on the wake channel, so an owner that closed the event's quiet Worker opens
 * it again at once.
 *
 * Job options are chosen, not inherited:
 * - job ids are BullMQ's own counter (a batch has no natural id; a replayed request re-queued in a new
 *   batch is decided as a no-op);
 * - completed jobs are removed at once (the decisions live in the reservations, not the jobs);
 * - a job whose decision threw is retried at once, without backoff, up to `attempts` times; failed jobs
 *   are kept a week for inspection.
 */
export class ReserveQueues {
  readonly #queues = new Map<string, Queue>();
  readonly #batchers = new Map<string, FlushBatcher<QueuedRequest>>();
  readonly #connection: Redis;
  readonly #prefix: string;
  readonly #wakeChannel: string;
  readonly #jobOptions: JobsOptions;
  readonly #maxBatch: number;
  readonly #flushIntervalMs: number;
  readonly #logger: Logger;

  constructor(connection: Redis, options: { prefix: string; keyPrefix: string; attempts: number; maxBatch?: number; flushIntervalMs?: number }, logger: Logger) {
    this.#connection = connection;
    this.#prefix = options.prefix;
    this.#wakeChannel = eventWakeChannel(options.keyPrefix);
    this.#maxBatch = Math.min(options.maxBatch ?? MAX_BATCH, MAX_BATCH);
    this.#flushIntervalMs = options.flushIntervalMs ?? 0;
    this.#logger = logger;
    this.#jobOptions = {
      attempts: options.attempts,
      removeOnComplete: true,
      removeOnFail: { age: 7 * 24 * 3600 },
    };
  }

  queue(eventId: string): Queue {
    let queue = this.#queues.get(eventId);
    if (!queue) {
      queue = new Queue(reserveQueueName(eventId), { connection: this.#connection, prefix: this.#prefix });
      queue.on('error', (err: Error) => this.#logger.warn({ event_id: eventId, err: err.message }, 'queue error'));
      this.#queues.set(eventId, queue);
    }
    return queue;
  }

  /** Resolves once a job carrying the request is in Redis; rejects if that job could not be added. */
  add(eventId: string, request: QueuedRequest): Promise<void> {
    let batcher = this.#batchers.get(eventId);
    if (!batcher) {
      batcher = new FlushBatcher((requests) => this.#addJob(eventId, requests), this.#maxBatch, this.#flushIntervalMs);
      this.#batchers.set(eventId, batcher);
    }
    return batcher.add(request);
  }

  async #addJob(eventId: string, requests: QueuedRequest[]): Promise<void> {
    const job: ReserveJob = { event_id: eventId, requests };
    await this.queue(eventId).add('reserve', job, this.#jobOptions);
    // Best effort: a shard's periodic sweep finds the queue's work if this wake-up is lost.
    this.#connection.publish(this.#wakeChannel, eventId).catch(() => undefined);
  }

  async close(): Promise<void> {
    await Promise.all([...this.#queues.values()].map((q) => q.close()));
    this.#queues.clear();
  }
}
