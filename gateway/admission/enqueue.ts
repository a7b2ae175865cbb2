import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ReserveJob } from '../../core/contracts.ts';
import { reserveQueueName } from '../../core/keys.ts';
import type { Logger } from '../../core/logger.ts';

/**
 * The gateway's side of the per-event BullMQ queues. One Queue object per event, all sharing one
 * connection (a Queue needs no blocking connection). Job options are chosen, not inherited:
 * - jobId is the reservation id: made by the server, never a client's key, and without `:`;
 * - completed jobs are removed at once (the decision lives in the reservation, not the job);
 * - a job whose decision threw is retried at once, without backoff (backoff would reorder the queue),
 *   up to `attempts` times; failed jobs are kept a week for inspection.
 */
export class ReserveQueues {
  readonly #queues = new Map<string, Queue>();
  readonly #connection: Redis;
  readonly #prefix: string;
  readonly #jobOptions: JobsOptions;
  readonly #logger: Logger;

  constructor(connection: Redis, options: { prefix: string; attempts: number }, logger: Logger) {
    this.#connection = connection;
    this.#prefix = options.prefix;
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

  /** Resolves once the job is in Redis; rejects if it could not be added. */
  async add(job: ReserveJob): Promise<void> {
    await this.queue(job.event_id).add('reserve', job, { ...this.#jobOptions, jobId: job.reservation_id });
  }

  /** How long the oldest job still waiting in the event's queue has waited (0 when none waits). */
  async oldestWaitMs(eventId: string): Promise<number> {
    const [oldest] = await this.queue(eventId).getJobs(['wait'], 0, 0, true);
    return oldest ? Math.max(0, Date.now() - oldest.timestamp) : 0;
  }

  /**
   * Takes a cancelled request's job out of the queue, if it is still waiting there. Best effort: a job
   * already being decided stays, and its decision finds the reservation cancelled and changes nothing.
   */
  async removeWaiting(eventId: string, reservationId: string): Promise<void> {
    await this.queue(eventId).remove(reservationId).catch(() => 0);
  }

  async close(): Promise<void> {
    await Promise.all([...this.#queues.values()].map((q) => q.close()));
    this.#queues.clear();
  }
}
