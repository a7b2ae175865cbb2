import { randomInt } from 'node:crypto';
import type pg from 'pg';
import { AppError } from '../../core/errors.ts';
import { isUuid } from '../../core/keys.ts';
import type { EventSettings, ReservationStore } from '../../core/reservation-store.ts';
import { decodeCursor, encodeCursor } from '../http/cursor.ts';
import { categoryNameKey, type CreateCategoryBody, type CreateEventBody } from '../schemas.ts';

/**
 * Events and ticket categories: written to PostgreSQL by the admin routes, read by everyone. The reserve
 * path reads them from a short-lived in-process cache (no Postgres round trip per request).
 *
 * Creating a category writes Postgres first, then initialises its stock in Redis with an idempotent
 * script. If the process dies in between, the next process that loads the category (reserve,
 * availability, GET) runs the same script, so a category is never stuck at 0 seats.
 */

export interface EventRow {
  readonly id: string;
  readonly name: string;
  readonly date: Date;
  readonly maxPerUser: number;
  readonly salesOpenAt: Date | null;
  readonly salesCloseAt: Date | null;
  /** the admin's switch; null: the sale window decides */
  readonly saleState: 'open' | 'paused' | 'closed' | null;
  /** the event's own queue depth limit; null: QUEUE_MAX_DEPTH */
  readonly maxDepth: number | null;
  /** FIFO, or a lottery pre-queue (docs/fairness.md); the seed is shown to admins only */
  readonly admission: { readonly mode: 'fifo' } | { readonly mode: 'lottery'; readonly windowS: number; readonly seed: number };
  readonly createdAt: Date;
}

export interface CategoryRow {
  readonly id: string;
  readonly eventId: string;
  readonly name: string;
  readonly nameKey: string;
  readonly totalStock: number;
  readonly price: number;
}

export interface EventWithCategories extends EventRow {
  readonly categories: readonly CategoryRow[];
}

/** How long a cached event is fresh; after that a request for it starts a reload (answered from the cache meanwhile). */
const CACHE_TTL_MS = 5_000;
const MISS_RELOAD_AFTER_MS = 250;
/** Bounds the cache (unknown ids are cached too, so a flood of random ids cannot grow it forever). */
const CACHE_MAX_ENTRIES = 10_000;

type Row = Record<string, unknown>;
const toEvent = (r: Row): EventRow => ({
  id: String(r.id),
  name: String(r.name),
  date: r.date as Date,
  maxPerUser: Number(r.max_per_user),
  salesOpenAt: (r.sales_open_at as Date | null) ?? null,
  salesCloseAt: (r.sales_close_at as Date | null) ?? null,
  saleState: (r.sale_state as EventRow['saleState']) ?? null,
  maxDepth: r.max_depth == null ? null : Number(r.max_depth),
  admission: r.admission_mode === 'lottery' ? { mode: 'lottery', windowS: Number(r.lottery_window_s), seed: Number(r.lottery_seed) } : { mode: 'fifo' },
  createdAt: r.created_at as Date,
});
const toCategory = (r: Row): CategoryRow => ({
  id: String(r.id),
  eventId: String(r.event_id),
  name: String(r.name),
  nameKey: String(r.name_key),
  totalStock: Number(r.total_stock),
  price: Number(r.price),
});

const settingsOf = (e: EventRow): Partial<EventSettings> => ({
  maxPerUser: e.maxPerUser,
  salesOpenAtMs: e.salesOpenAt?.getTime(),
  salesCloseAtMs: e.salesCloseAt?.getTime(),
  saleState: e.saleState ?? undefined,
  maxDepth: e.maxDepth ?? undefined,
  lotteryWindowMs: e.admission.mode === 'lottery' ? e.admission.windowS * 1000 : undefined,
  lotterySeed: e.admission.mode === 'lottery' ? e.admission.seed : undefined,
});

/** Postgres unreachable (not a data error) is a 503 for the caller, never a 500. */
function unavailable(err: unknown): AppError {
  return new AppError('service_unavailable', 'the database is unavailable', { cause: err, retryAfterS: 2 });
}

async function query(db: pg.Pool, text: string, values: unknown[]): Promise<Row[]> {
  try {
    return (await db.query(text, values)).rows as Row[];
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && /^(22|23)/.test(code)) throw err;
    throw unavailable(err);
  }
}

interface CacheEntry {
  readonly loadedAt: number;
  readonly event: EventWithCategories | undefined;
}

export interface EventPage {
  readonly events: EventRow[];
  readonly nextCursor: string | undefined;
}

export class Catalog {
  readonly #db: pg.Pool;
  readonly #store: ReservationStore;
  readonly #cache = new Map<string, CacheEntry>();
  readonly #stockReady = new Set<string>();
  /** Loads in flight, so a burst of requests for one event makes one Postgres read, not one each. */
  readonly #loading = new Map<string, Promise<EventWithCategories | undefined>>();

  readonly #cacheTtlMs: number;

  constructor(db: pg.Pool, store: ReservationStore, options: { cacheTtlMs?: number } = {}) {
    this.#db = db;
    this.#store = store;
    this.#cacheTtlMs = options.cacheTtlMs ?? CACHE_TTL_MS;
  }

  async createEvent(body: CreateEventBody): Promise<EventRow> {
    const isLottery = body.admission?.mode === 'lottery';
    const rows = await query(
      this.#db,
      `INSERT INTO events (name, date, max_per_user, sales_open_at, sales_close_at, admission_mode, lottery_window_s, lottery_seed)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
      [
        body.name.trim(), body.date, body.max_per_user ?? 4, body.sales_open_at ?? null, body.sales_close_at ?? null,
        isLottery ? 'lottery' : 'fifo', isLottery ? body.admission!.window_s : null,
        // The draw's seed: the admin's, else a random one (kept from buyers until the draw).
        isLottery ? (body.admission!.seed ?? randomInt(0, 2 ** 32)) : null,
      ],
    );
    const event = toEvent(rows[0]!);
    await this.#store.writeEventSettings(event.id, settingsOf(event));
    return event;
  }

  /** The admin's sale switch: Postgres first, then the live copy every gateway's admission reads. */
  async setSaleState(eventId: string, state: 'open' | 'paused' | 'closed'): Promise<EventWithCategories> {
    await this.requireEvent(eventId);
    await query(this.#db, 'UPDATE events SET sale_state = $2 WHERE id = $1', [eventId, state]);
    await this.#store.writeEventSettings(eventId, { saleState: state }, true);
    return this.requireEvent(eventId);
  }

  /** The event's own queue depth limit: Postgres first, then the live copy. */
  async setMaxDepth(eventId: string, maxDepth: number): Promise<void> {
    await this.requireEvent(eventId);
    await query(this.#db, 'UPDATE events SET max_depth = $2 WHERE id = $1', [eventId, maxDepth]);
    await this.#store.writeEventSettings(eventId, { maxDepth }, true);
  }

  /** Newest first; the cursor is opaque to clients (the last row's created_at text and id). */
  async listEvents(limit: number, cursor: string | undefined): Promise<EventPage> {
    let after: [string, string] | undefined;
    if (cursor !== undefined) after = decodeCursor(cursor);
    const rows = await query(
      this.#db,
      `SELECT *, created_at::text AS created_key FROM events
       WHERE $1::timestamptz IS NULL OR (created_at, id) < ($1::timestamptz, $2::uuid)
       ORDER BY created_at DESC, id DESC LIMIT $3`,
      [after?.[0] ?? null, after?.[1] ?? null, limit + 1],
    );
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    const nextCursor = rows.length > limit && last ? encodeCursor(String(last.created_key), String(last.id)) : undefined;
    return { events: page.map(toEvent), nextCursor };
  }

  /** The event with its categories, read from Postgres (fresh), with each category's stock ensured. */
  async getEvent(eventId: string): Promise<EventWithCategories | undefined> {
    if (!isUuid(eventId)) return undefined;
    const [events, categories] = await Promise.all([
      query(this.#db, 'SELECT * FROM events WHERE id = $1', [eventId]),
      query(this.#db, 'SELECT * FROM ticket_categories WHERE event_id = $1 ORDER BY created_at, id', [eventId]),
    ]);
    if (events.length === 0) {
      this.#remember(eventId, undefined);
      return undefined;
    }
    const event = { ...toEvent(events[0]!), categories: categories.map(toCategory) };
    await this.#ensureStock(event);
    this.#remember(eventId, event);
    return event;
  }

  async requireEvent(eventId: string): Promise<EventWithCategories> {
    const event = await this.getEvent(eventId);
    if (!event) throw new AppError('event_not_found', `no event ${eventId}`);
    return event;
  }

  async createCategory(eventId: string, body: CreateCategoryBody): Promise<CategoryRow> {
    const event = await this.requireEvent(eventId);
    let rows: Row[];
    try {
      rows = await query(
        this.#db,
        `INSERT INTO ticket_categories (event_id, name, name_key, total_stock, price)
         VALUES ($1, $2, $3, $4, $5) RETURNING *`,
        [eventId, body.name.trim(), categoryNameKey(body.name), body.total_stock, body.price],
      );
    } catch (err) {
      if ((err as { code?: unknown }).code === '23505') throw new AppError('category_exists', `the event already has a category named "${body.name.trim()}"`);
      throw unavailable(err);
    }
    const category = toCategory(rows[0]!);
    // Postgres first, then Redis: initStock is idempotent and re-run on every later load of the category.
    await this.#store.initStock(eventId, category.id, category.totalStock, event.maxPerUser);
    this.#stockReady.add(category.id);
    this.#cache.delete(eventId);
    return category;
  }

  /** The event and category a reserve names, from the cache (a stale entry that has the category answers while it reloads); 404s for unknown ones. */
  async resolve(eventId: string, categoryName: string): Promise<{ event: EventWithCategories; category: CategoryRow }> {
    const key = categoryNameKey(categoryName);
    let entry = this.#cache.get(eventId);
    const age = entry ? Date.now() - entry.loadedAt : Infinity;
    const isStale = age > this.#cacheTtlMs || (age > MISS_RELOAD_AFTER_MS && !entry?.event?.categories.some((c) => c.nameKey === key));
    if (!entry || isStale) {
      let load = this.#loading.get(eventId);
      if (!load) {
        load = this.getEvent(eventId).finally(() => this.#loading.delete(eventId));
        this.#loading.set(eventId, load);
      }
      const stale = entry;
      if (stale?.event?.categories.some((c) => c.nameKey === key)) {
        // Stale but knows the category: answer from it while it reloads, so no request waits on
        // PostgreSQL after the event's first load. A failed reload leaves the entry, retried a TTL later
        // (reserve keeps working while PostgreSQL is down: docs/operations.md).
        load.catch(() => {
          if (this.#cache.get(eventId) === stale) this.#cache.set(eventId, { ...stale, loadedAt: Date.now() });
        });
      } else {
        await load;
        entry = this.#cache.get(eventId);
      }
    }
    const event = entry?.event;
    if (!event) throw new AppError('event_not_found', `no event ${eventId}`);
    const category = event.categories.find((c) => c.nameKey === key);
    if (!category) throw new AppError('category_not_found', `event ${eventId} has no category "${categoryName}"`);
    return { event, category };
  }

  /** A category of an event by id, from the cache (confirm needs its price). */
  async categoryById(eventId: string, categoryId: string): Promise<CategoryRow | undefined> {
    let event = this.#cache.get(eventId)?.event;
    if (!event?.categories.some((c) => c.id === categoryId)) event = await this.getEvent(eventId);
    return event?.categories.find((c) => c.id === categoryId);
  }

  /** Events this process loaded within `withinMs` (the cache refreshes an event in use every few seconds). */
  recentEvents(withinMs = 10 * 60_000): EventWithCategories[] {
    const since = Date.now() - withinMs;
    return [...this.#cache.values()].filter((e) => e.event !== undefined && e.loadedAt >= since).map((e) => e.event!);
  }

  /** Re-runs the idempotent stock initialisation for a category (after Redis said it was missing). */
  async repairStock(category: CategoryRow, maxPerUser: number): Promise<void> {
    await this.#store.initStock(category.eventId, category.id, category.totalStock, maxPerUser);
    this.#stockReady.add(category.id);
  }

  #remember(eventId: string, event: EventWithCategories | undefined): void {
    this.#cache.delete(eventId);
    if (this.#cache.size >= CACHE_MAX_ENTRIES) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(eventId, { loadedAt: Date.now(), event });
  }

  async #ensureStock(event: EventWithCategories): Promise<void> {
    if (!this.#stockReady.has(event.id)) {
      await this.#store.writeEventSettings(event.id, settingsOf(event));
      this.#stockReady.add(event.id);
    }
    for (const category of event.categories) {
      if (this.#stockReady.has(category.id)) continue;
      await this.repairStock(category, event.maxPerUser);
    }
  }
}
