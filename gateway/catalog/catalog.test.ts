import { expect } from 'chai';
import { Redis } from 'ioredis';
import type pg from 'pg';
import { AppError } from '../../core/errors.ts';
import { createPool } from '../../core/pg.ts';
import { ReservationStore } from '../../core/reservation-store.ts';
import { deleteTestKeys, testConfig, testLogger, waitFor } from '../../test/support/env.ts';
import { Catalog } from './catalog.ts';

// The event cache a reserve resolves its event and category from, against the real PostgreSQL and Redis.
describe('catalog cache', function () {
  const config = testConfig();
  const TTL_MS = 50;
  let redis: Redis;
  let admin: pg.Pool;
  let db: pg.Pool;
  let catalog: Catalog;
  let eventId: string;

  /** The catalog's reads that wait on a lock right now. */
  const blockedReads = async () =>
    Number((await admin.query(
      `SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'SELECT * FROM ticket_categories%'`,
    )).rows[0].n);

  beforeEach(async () => {
    redis = new Redis(config.redisUrl);
    admin = createPool(config.databaseUrl, testLogger());
    db = createPool(config.databaseUrl, testLogger());
    const store = new ReservationStore(redis, { keyPrefix: config.keyPrefix, holdTtlMs: 60_000, retentionMs: 60_000 });
    catalog = new Catalog(db, store, { cacheTtlMs: TTL_MS });
    eventId = (await catalog.createEvent({ name: 'cache test', date: '2027-01-01T00:00:00Z' })).id;
    await catalog.createCategory(eventId, { name: 'A', total_stock: 10, price: 100 });
    expect((await catalog.resolve(eventId, 'A')).category.name).to.equal('A');
  });

  afterEach(async () => {
    await admin.end();
    await db.end().catch(() => undefined);
    await deleteTestKeys(config);
    redis.disconnect();
  });

  it('answers from a stale entry while its reload waits on PostgreSQL, then takes the reload', async () => {
    const locker = await admin.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE ticket_categories IN ACCESS EXCLUSIVE MODE');
      await admin.query('UPDATE events SET name = $2 WHERE id = $1', [eventId, 'renamed']);
      // Each call after the TTL finds the entry stale; the first of them starts the reload, which the lock holds.
      await waitFor('a reload held by the lock', async () => (await catalog.resolve(eventId, 'A')) && (await blockedReads()) > 0);
      const { event } = await catalog.resolve(eventId, 'A');
      expect(event.name).to.equal('cache test');
    } finally {
      await locker.query('COMMIT');
      locker.release();
    }
    await waitFor('the reloaded event', async () => (await catalog.resolve(eventId, 'A')).event.name === 'renamed');
  });

  it('keeps answering for a cached event while PostgreSQL is unreachable, and a 503 for what it has not cached', async () => {
    await db.end();
    const until = Date.now() + 10 * TTL_MS;
    let calls = 0;
    while (Date.now() < until) {
      expect((await catalog.resolve(eventId, 'A')).category.name).to.equal('A');
      calls++;
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(calls).to.be.greaterThan(1);
    // A category it has not cached needs PostgreSQL once the entry is stale (a fresh one answers 404).
    const err = await waitFor('a refusal that needs PostgreSQL', async () => {
      const e = await catalog.resolve(eventId, 'B').then(() => undefined, (e: unknown) => e);
      return e instanceof AppError && e.code !== 'category_not_found' ? e : undefined;
    });
    expect(err.status).to.equal(503);
  });
});
