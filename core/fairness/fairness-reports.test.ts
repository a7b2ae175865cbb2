import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type pg from 'pg';
import { createPool } from '../pg.ts';
import { testConfig, testLogger } from '../../test/support/env.ts';
import { FairnessReports } from './fairness-reports.ts';
import { drawOrder } from './lottery.ts';

// The report read from the real PostgreSQL in a piscina worker thread: the SQL's queue order, the
// millisecond times, and both tables (reservations and door refusals).
describe('FairnessReports (real PostgreSQL, worker thread)', function () {
  this.timeout(30_000);
  const config = testConfig();
  let db: pg.Pool;
  let reports: FairnessReports;

  before(() => {
    db = createPool(config.databaseUrl, testLogger());
    reports = new FairnessReports(config.databaseUrl);
  });
  after(async () => {
    await reports.close();
    await db.end();
  });

  async function event(totalStock: number, lottery?: { windowS: number; seed: number }): Promise<{ eventId: string; categoryId: string }> {
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO events (name, date, max_per_user, sales_open_at, admission_mode, lottery_window_s, lottery_seed)
       VALUES ('Fair', now(), 4, now(), $1, $2, $3) RETURNING id`,
      [lottery ? 'lottery' : 'fifo', lottery?.windowS ?? null, lottery?.seed ?? null],
    );
    const eventId = rows[0]!.id;
    const { rows: cats } = await db.query<{ id: string }>(
      `INSERT INTO ticket_categories (event_id, name, name_key, total_stock, price) VALUES ($1, 'A', 'a', $2, 1) RETURNING id`,
      [eventId, totalStock],
    );
    return { eventId, categoryId: cats[0]!.id };
  }

  const T0 = 1_764_000_000_000;
  async function reservation(eventId: string, categoryId: string, seq: number, user: string, status: string, seqDecision: number | null, receivedMs: number, decidedMs: number | null, drawNo: number | null = null) {
    await db.query(
      `INSERT INTO reservations (id, event_id, category_id, user_id, qty, status, reason, seq_arrival, seq_decision, decided_at, created_at, updated_at, version, draw_no)
       VALUES ($1, $2, $3, $4, 1, $5, $6, $7, $8, to_timestamp($9 / 1000.0), to_timestamp($10 / 1000.0), to_timestamp($11 / 1000.0), 2, $12)`,
      [`${eventId}.${randomUUID()}`, eventId, categoryId, user, status, status === 'rejected' ? 'out_of_stock' : null, seq, seqDecision,
        decidedMs === null ? null : T0 + decidedMs, T0 + receivedMs, T0 + (decidedMs ?? receivedMs), drawNo],
    );
  }

  it('reads reservations and door refusals in arrival order and computes the late-winner example', async () => {
    const { eventId, categoryId } = await event(2);
    // Inserted out of order on purpose: the SQL orders them.
    await reservation(eventId, categoryId, 3, 'u3', 'reserved', 2, 2, 11);
    await reservation(eventId, categoryId, 1, 'u1', 'confirmed', 1, 0, 10);
    await reservation(eventId, categoryId, 2, 'u2', 'rejected', 3, 1, 12);
    await reservation(eventId, categoryId, 5, 'u5', 'queued', null, 30, null);
    await db.query(
      `INSERT INTO refusals (reservation_id, event_id, category_id, user_id, qty, seq_arrival, reason, received_at)
       VALUES ($1, $2, $3, 'u4', 1, 4, 'queue_full', to_timestamp($4 / 1000.0))`,
      [`${eventId}.${randomUUID()}`, eventId, categoryId, T0 + 20],
    );
    const report = (await reports.report(eventId))!;
    expect(report.requests).to.deep.include({ arrivals: 5, admitted: 4, decided: 3, pending: 1, won: 2 });
    expect(report.requests.shed.queue_full).to.equal(1);
    expect(report.winners).to.deep.equal({ won: 2, ideal: 2, precision: 0.5, late_winners: 1 });
    expect(report.order).to.deep.include({ pairs: 3, inversions: 1 });
    expect(report.time.to_decision_ms).to.deep.equal({ p50: 10, p95: 11, p99: 11, max: 11 });
    expect(report.categories[0]).to.include({ category_id: categoryId, total_stock: 2, sold_out_after_ms: 11 });
  });

  it('orders a lottery by draw number and verifies the draw from the recorded seed', async () => {
    const seed = 2_024;
    const { eventId, categoryId } = await event(3, { windowS: 10, seed });
    const draw = drawOrder(6, seed);
    for (let i = 0; i < 6; i++) {
      await reservation(eventId, categoryId, i + 1, `u${i}`, draw[i]! <= 3 ? 'reserved' : 'rejected', draw[i]!, i, 100 + draw[i]!, draw[i]!);
    }
    await reservation(eventId, categoryId, 7, 'late', 'rejected', 7, 20_000, 20_001);
    const report = (await reports.report(eventId))!;
    expect(report.mode).to.equal('lottery');
    expect(report.lottery).to.deep.include({ window_s: 10, seed, window_requests: 6, draw_verified: true });
    expect(report.order.inversions).to.equal(0);
    expect(report.winners).to.deep.include({ precision: 1, late_winners: 0 });
  });

  it('answers null for an event that does not exist', async () => {
    expect(await reports.report(randomUUID())).to.equal(null);
  });
});
