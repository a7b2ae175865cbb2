import type { Redis } from 'ioredis';
import { REJECT_REASONS, SNAPSHOT_SCHEMA_VERSION, type RejectReason, type ReservationStatus } from './contracts.ts';
import { drawOrder } from './fairness/lottery.ts';
import { eventIdOfReservation, eventKeys, eventRegistryKey, eventAnnounceChannel } from './keys.ts';
import { Scripts } from './redis.ts';

/**
 * The reservation state in Redis, through the Lua scripts in core/lua: what the gateway admits and
 * reads, and what the shard decides. Every state change happens inside one script.
 */

export interface AdmitRequest {
  readonly reservationId: string;
  readonly userId: string;
  readonly eventId: string;
  readonly categoryId: string;
  readonly categoryName: string;
  readonly qty: number;
  /** the HTTP request's correlation id, kept with the reservation and in its snapshots */
  readonly requestId?: string;
}

export type AdmitResult =
  /** position null: in a lottery window, placed by the draw when the window closes */
  | { readonly kind: 'admitted' | 'duplicate'; readonly seqArrival: number; readonly position: number | null; readonly createdAtMs: number }
  | { readonly kind: 'category_not_ready' | 'sales_paused' | 'sales_closed' }
  | { readonly kind: 'sales_not_open'; readonly retryAfterS: number }
  | { readonly kind: 'out_of_stock' | 'too_many_queued'; readonly seqArrival: number }
  | { readonly kind: 'queue_full'; readonly seqArrival: number; readonly retryAfterS: number };

/** The event's settings the scripts read, mirrored from PostgreSQL. */
export interface EventSettings {
  readonly maxPerUser: number;
  readonly salesOpenAtMs: number | undefined;
  readonly salesCloseAtMs: number | undefined;
  readonly saleState: 'open' | 'paused' | 'closed' | undefined;
  readonly maxDepth: number | undefined;
  /** a lottery pre-queue: its window after sales_open_at, and the draw's seed (docs/fairness.md) */
  readonly lotteryWindowMs: number | undefined;
  readonly lotterySeed: number | undefined;
}

export interface QueueStats {
  readonly depth: number;
  readonly maxDepth: number;
  readonly drainRatePerS: number;
  /** how long the earliest admitted, undecided request has waited (0 when none waits) */
  readonly oldestWaitMs: number;
  /** the shard holding the event's lease, if one does */
  readonly owner: LeaseHolder | undefined;
}

/** An event's lease value `<token>:<shard id>`, read. */
export interface LeaseHolder {
  readonly token: number;
  readonly shardId: string;
}

export function parseLease(value: string | null | undefined): LeaseHolder | undefined {
  if (!value) return undefined;
  const colon = value.indexOf(':');
  if (colon < 1) return undefined;
  return { token: Number(value.slice(0, colon)), shardId: value.slice(colon + 1) };
}

export type DecideResult =
  | {
      readonly kind: 'decided' | 'already_decided';
      readonly status: ReservationStatus;
      readonly reason: RejectReason | undefined;
      readonly seqDecision: number;
      readonly expiresAtMs: number | undefined;
    }
  | { readonly kind: 'unknown_reservation' };

export type BatchResult =
  /** `fenced`: the caller no longer holds the event's lease (what it decided before losing it counts) */
  | { readonly kind: 'fenced'; readonly decided: number }
  /**
   * `through`: the highest arrival number decided; every request admitted up to it is decided (0 when
   * not known: a lottery event, whose order is its draw, or nothing decided)
   */
  | { readonly kind: 'decided'; readonly decided: number; readonly through: number }
  /** a lottery window is open: nothing can be decided for `waitMs` */
  | { readonly kind: 'lottery_window'; readonly decided: number; readonly waitMs: number };

export interface StoredReservation {
  /** a confirm's payment is in flight (status shows `reserved`) */
  readonly isPaying: boolean;
  readonly reservationId: string;
  readonly userId: string;
  readonly eventId: string;
  readonly categoryId: string;
  readonly category: string;
  readonly qty: number;
  readonly status: ReservationStatus;
  readonly reason: string | undefined;
  readonly position: number | undefined;
  readonly seqArrival: number;
  readonly seqDecision: number | undefined;
  readonly expiresAtMs: number | undefined;
  readonly bookingId: string | undefined;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
  readonly version: number;
}

export interface CategoryStock {
  readonly total: number;
  readonly available: number;
  readonly held: number;
  readonly confirmed: number;
}

export interface StoreSettings {
  readonly keyPrefix: string;
  readonly holdTtlMs: number;
  readonly retentionMs: number;
  /** QUEUE_MAX_DEPTH: an event's depth limit unless it has its own */
  readonly defaultMaxDepth?: number;
  /** MAX_QUEUED_PER_USER: requests one user may have queued at once per event (0: no limit) */
  readonly maxQueuedPerUser?: number;
}

const DEFAULT_MAX_DEPTH = 10_000;

const optionalNumber = (value: string | undefined): number | undefined =>
  value === undefined || value === '' ? undefined : Number(value);

export class ReservationStore {
  readonly #redis: Redis;
  readonly #scripts: Scripts;
  readonly #settings: StoreSettings;

  constructor(redis: Redis, settings: StoreSettings) {
    this.#redis = redis;
    this.#scripts = new Scripts(redis);
    this.#settings = settings;
  }

  keys(eventId: string) {
    return eventKeys(this.#settings.keyPrefix, eventId);
  }

  /**
   * Creates the category's stock unless it exists (and the event's settings the scripts read), and
   * registers the event for the shards. Idempotent.
   */
  async initStock(eventId: string, categoryId: string, totalStock: number, maxPerUser: number): Promise<boolean> {
    const k = this.keys(eventId);
    const created = await this.#scripts.run('initStock', [k.category(categoryId), k.meta], [totalStock, maxPerUser]);
    const added = await this.#redis.sadd(eventRegistryKey(this.#settings.keyPrefix), eventId);
    if (added === 1) await this.#redis.publish(eventAnnounceChannel(this.#settings.keyPrefix), eventId);
    return created === 1;
  }

  /** Writes the event's settings the scripts read; the ones set before are kept unless `overwrite`. */
  async writeEventSettings(eventId: string, settings: Partial<EventSettings>, overwrite = false): Promise<void> {
    const k = this.keys(eventId);
    const fields: [string, string | number | undefined][] = [
      ['max_per_user', settings.maxPerUser],
      ['sales_open_at', settings.salesOpenAtMs],
      ['sales_close_at', settings.salesCloseAtMs],
      ['sale_state', settings.saleState],
      ['max_depth', settings.maxDepth],
      ['lottery_window_ms', settings.lotteryWindowMs],
      ['lottery_seed', settings.lotterySeed],
    ];
    const pipeline = this.#redis.pipeline();
    for (const [field, value] of fields) {
      if (value === undefined) continue;
      if (overwrite) pipeline.hset(k.meta, field, value);
      else pipeline.hsetnx(k.meta, field, value);
    }
    await pipeline.exec();
  }

  /**
   * Admitted, undecided reservations admitted before `beforeMs` (Redis time), in arrival order, among
   * the `limit` earliest arrivals still pending.
   */
  async pendingSince(eventId: string, beforeMs: number, limit: number): Promise<string[]> {
    const k = this.keys(eventId);
    const ids = await this.#redis.zrange(k.pending, '0', String(limit - 1));
    if (ids.length === 0) return [];
    const pipeline = this.#redis.pipeline();
    for (const id of ids) pipeline.hget(k.reservation(id), 'created_at');
    const replies = (await pipeline.exec()) ?? [];
    return ids.filter((_, i) => {
      const createdAt = replies[i]?.[1] as string | null | undefined;
      return createdAt != null && Number(createdAt) < beforeMs;
    });
  }

  /** Depth (in requests), its limit, the decisions per second observed at the last admission, the oldest wait, the owner. */
  async queueStats(eventId: string): Promise<QueueStats> {
    const k = this.keys(eventId);
    const [depth, [maxDepth, drainRate], oldest, lease, [seconds, micros]] = await Promise.all([
      this.#redis.get(k.depth),
      this.#redis.hmget(k.meta, 'max_depth', 'drain_rate'),
      this.#redis.zrange(k.pending, '0', '0'),
      this.#redis.get(k.lease),
      this.#redis.time(),
    ]);
    const createdAt = oldest[0] ? await this.#redis.hget(k.reservation(oldest[0]), 'created_at') : null;
    const nowMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    return {
      depth: Number(depth ?? 0),
      maxDepth: maxDepth ? Number(maxDepth) : (this.#settings.defaultMaxDepth ?? DEFAULT_MAX_DEPTH),
      drainRatePerS: Number(drainRate ?? 0),
      oldestWaitMs: createdAt ? Math.max(0, nowMs - Number(createdAt)) : 0,
      owner: parseLease(lease),
    };
  }

  async admit(request: AdmitRequest): Promise<AdmitResult> {
    const k = this.keys(request.eventId);
    const reply = (await this.#scripts.run(
      'admitRequest',
      [k.seq, k.admitted, k.decided, k.depth, k.reservation(request.reservationId), k.outbox, k.category(request.categoryId), k.meta, k.queuedByUser, k.pending],
      [
        request.reservationId,
        request.userId,
        request.eventId,
        request.categoryId,
        request.categoryName,
        request.qty,
        this.#settings.retentionMs,
        SNAPSHOT_SCHEMA_VERSION,
        this.#settings.defaultMaxDepth ?? DEFAULT_MAX_DEPTH,
        this.#settings.maxQueuedPerUser ?? 0,
        request.requestId ?? '',
      ],
    )) as number[];
    return admitResult(reply);
  }

  /**
   * Admits several requests of one event in one script call, in the order given, exactly as that many
   * `admit` calls in a row would; one result per request, in the same order.
   */
  async admitBatch(eventId: string, requests: readonly AdmitRequest[]): Promise<AdmitResult[]> {
    if (requests.length === 0) return [];
    const k = this.keys(eventId);
    const args: (string | number)[] = [
      k.base,
      eventId,
      this.#settings.retentionMs,
      SNAPSHOT_SCHEMA_VERSION,
      this.#settings.defaultMaxDepth ?? DEFAULT_MAX_DEPTH,
      this.#settings.maxQueuedPerUser ?? 0,
    ];
    for (const r of requests) {
      if (r.eventId !== eventId) throw new Error(`admitBatch: request ${r.reservationId} is not of event ${eventId}`);
      args.push(r.reservationId, r.userId, r.categoryId, r.categoryName, r.qty, r.requestId ?? '');
    }
    const replies = (await this.#scripts.run('admitBatch', [k.seq, k.admitted, k.decided, k.depth, k.outbox, k.meta, k.queuedByUser, k.pending], args)) as unknown as number[][];
    return replies.map(admitResult);
  }

  /**
   * Undoes an admission whose job could not be enqueued: the request is rejected `internal_error` the
   * way a decision would reject it (depth and decided counters move, the snapshot goes to the outbox),
   * so nothing waits forever on a job that does not exist. A no-op if it was decided meanwhile.
   */
  async abandon(eventId: string, reservationId: string): Promise<void> {
    const k = this.keys(eventId);
    // A category key that cannot exist makes the decision script reject with internal_error.
    await this.#scripts.run(
      'decideRequest',
      [k.reservation(reservationId), k.category('-abandoned-'), k.decided, k.depth, k.outbox, k.holds, k.meta, k.users, k.queuedByUser, k.pending],
      [this.#settings.holdTtlMs, this.#settings.retentionMs, SNAPSHOT_SCHEMA_VERSION, k.changes],
    );
  }

  /**
   * Decides the event's pending requests in arrival order until every one up to arrival number `maxSeq`
   * is decided: each script call decides the `limit` lowest (the shard passes DECISIONS_PER_CALL), past
   * `maxSeq` when the queue is deeper, and it calls again while some up to `maxSeq` remain. Fenced by
   * `leaseValue`: if the event's lease is no longer that value, nothing is decided and the result is
   * `fenced`.
   */
  async decideUpTo(eventId: string, maxSeq: number, leaseValue: string, limit: number): Promise<BatchResult> {
    const k = this.keys(eventId);
    let decided = 0;
    let through = 0;
    for (;;) {
      const reply = (await this.#scripts.run(
        'decideBatch',
        [k.decided, k.depth, k.outbox, k.holds, k.meta, k.users, k.queuedByUser, k.pending, k.lease],
        [leaseValue, maxSeq, limit, k.base, this.#settings.holdTtlMs, this.#settings.retentionMs, SNAPSHOT_SCHEMA_VERSION, k.changes],
      )) as number[];
      if (reply[0] === -1) return { kind: 'fenced', decided };
      if (reply[0] === -2) return { kind: 'lottery_window', decided, waitMs: reply[1]! };
      if (reply[0] === -3) {
        if ((await this.drawLottery(eventId, leaseValue)) === 'fenced') return { kind: 'fenced', decided };
        continue;
      }
      if (reply[0] !== 1) throw new Error(`decideBatch returned unknown code ${String(reply[0])}`);
      decided += reply[1]!;
      through = Math.max(through, reply[3] ?? 0);
      if (reply[2] === 0) return { kind: 'decided', decided, through };
    }
  }

  /** Whether a lottery event's window has been drawn, and how many requests the draw placed. */
  async lotteryDraw(eventId: string): Promise<{ isDrawn: boolean; drawnCount: number | null }> {
    const [drawn, count] = await this.#redis.hmget(this.keys(eventId).meta, 'lottery_drawn', 'lottery_drawn_count');
    return { isDrawn: drawn === '1', drawnCount: count === null ? null : Number(count) };
  }

  /**
   * Draws a lottery event's window (docs/fairness.md): reads the window's pending requests in arrival
   * order, computes their draw numbers from the event's seed (core/fairness/lottery.ts) and records them
   * (drawLottery script, fenced by `leaseValue`). Retries if a request left the window meanwhile.
   */
  async drawLottery(eventId: string, leaseValue: string): Promise<'drawn' | 'fenced' | 'window_open' | 'not_lottery'> {
    const k = this.keys(eventId);
    for (;;) {
      const [seed, lastSeq] = await this.#redis.hmget(k.meta, 'lottery_seed', 'lottery_last_seq');
      const ids = await this.#redis.zrangebyscore(k.pending, '-inf', lastSeq ?? '0');
      const drawNo = drawOrder(ids.length, Number(seed ?? 0));
      const args: (string | number)[] = [leaseValue, k.base];
      ids.forEach((id, i) => args.push(id, drawNo[i]!));
      const [code] = (await this.#scripts.run('drawLottery', [k.lease, k.meta, k.pending, k.decided], args)) as number[];
      if (code === 1 || code === 2) return 'drawn';
      if (code === -1) return 'fenced';
      if (code === -2) return 'window_open';
      if (code === -5) return 'not_lottery';
      if (code !== -4) throw new Error(`drawLottery returned unknown code ${String(code)}`);
    }
  }

  async decide(eventId: string, reservationId: string, categoryId: string): Promise<DecideResult> {
    const k = this.keys(eventId);
    const reply = (await this.#scripts.run(
      'decideRequest',
      [k.reservation(reservationId), k.category(categoryId), k.decided, k.depth, k.outbox, k.holds, k.meta, k.users, k.queuedByUser, k.pending],
      [this.#settings.holdTtlMs, this.#settings.retentionMs, SNAPSHOT_SCHEMA_VERSION, k.changes],
    )) as (string | number)[];
    const code = reply[0];
    if (code === 0) return { kind: 'unknown_reservation' };
    if (code !== 1 && code !== 2) throw new Error(`decideRequest returned unknown code ${String(code)}`);
    const reason = String(reply[2]);
    return {
      kind: code === 1 ? 'decided' : 'already_decided',
      status: String(reply[1]) as ReservationStatus,
      reason: (REJECT_REASONS as readonly string[]).includes(reason) ? (reason as RejectReason) : undefined,
      seqDecision: Number(reply[3]),
      expiresAtMs: optionalNumber(String(reply[4])),
    };
  }

  /** The reservation as Redis holds it, with its queue position while queued; undefined if Redis has none. */
  async read(reservationId: string): Promise<StoredReservation | undefined> {
    const eventId = eventIdOfReservation(reservationId);
    if (eventId === undefined) return undefined;
    const k = this.keys(eventId);
    const [fields, decided] = await Promise.all([this.#redis.hgetall(k.reservation(reservationId)), this.#redis.get(k.decided)]);
    if (fields.status === undefined) return undefined;
    let position: number | undefined;
    if (fields.status === 'queued' && fields.lottery === undefined) {
      position = Math.max(0, Number(fields.admitted_no) - Number(decided ?? 0) - 1);
    } else if (fields.status === 'queued' && fields.draw_no !== undefined) {
      // Drawn: the draws ahead of it, less the decisions since the draw (taken in draw order).
      const atDraw = Number((await this.#redis.hget(k.meta, 'lottery_decided_at_draw')) ?? 0);
      position = Math.max(0, Number(fields.draw_no) - 1 - (Number(decided ?? 0) - atDraw));
    }
    // `paying` is internal (a confirm in progress): to clients the hold is still `reserved`.
    const isPaying = fields.status === 'paying';
    const status = (isPaying ? 'reserved' : fields.status) as ReservationStatus;
    return {
      isPaying,
      reservationId,
      userId: fields.user_id ?? '',
      eventId,
      categoryId: fields.category_id ?? '',
      category: fields.category ?? '',
      qty: Number(fields.qty),
      status,
      reason: fields.reason,
      // Undefined while a lottery window's request waits for the draw.
      position,
      seqArrival: Number(fields.seq_arrival),
      seqDecision: optionalNumber(fields.seq_decision),
      expiresAtMs: optionalNumber(fields.expires_at),
      bookingId: fields.booking_id,
      createdAtMs: Number(fields.created_at),
      updatedAtMs: Number(fields.updated_at),
      version: Number(fields.version),
    };
  }

  /** Stock of several categories of one event, read in one round trip (one pipeline). */
  async readStock(eventId: string, categoryIds: readonly string[]): Promise<Map<string, CategoryStock | undefined>> {
    const k = this.keys(eventId);
    const pipeline = this.#redis.pipeline();
    for (const id of categoryIds) pipeline.hmget(k.category(id), 'total', 'available', 'held', 'confirmed');
    const replies = (await pipeline.exec()) ?? [];
    const stock = new Map<string, CategoryStock | undefined>();
    categoryIds.forEach((id, i) => {
      const [err, values] = replies[i] ?? [];
      if (err) throw err;
      const [total, available, held, confirmed] = (values as (string | null)[]) ?? [];
      stock.set(id, total == null ? undefined : { total: Number(total), available: Number(available), held: Number(held), confirmed: Number(confirmed) });
    });
    return stock;
  }
}

/** An admission script's reply (admitRequest, one entry of admitBatch) as a result. */
function admitResult(reply: readonly number[]): AdmitResult {
  const [code, a, b, c] = reply;
  switch (code) {
    case 1:
    case 2:
      return { kind: code === 1 ? 'admitted' : 'duplicate', seqArrival: a!, position: b! < 0 ? null : b!, createdAtMs: c! };
    case 3:
      return { kind: 'category_not_ready' };
    case 4:
      return { kind: 'sales_not_open', retryAfterS: a! };
    case 5:
      return { kind: 'sales_paused' };
    case 6:
      return { kind: 'sales_closed' };
    case 7:
      return { kind: 'out_of_stock', seqArrival: a! };
    case 8:
      return { kind: 'queue_full', seqArrival: a!, retryAfterS: b! };
    case 9:
      return { kind: 'too_many_queued', seqArrival: a! };
    default:
      throw new Error(`admission script returned unknown code ${String(code)}`);
  }
}
