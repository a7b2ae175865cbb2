import type pg from 'pg';
import Cursor from 'pg-cursor';
import { FairnessReportBuilder, type FairnessEventInfo, type FairnessReport, type FairnessRow } from './report.ts';

/**
 * Reads one event's fairness record from PostgreSQL (reservations and door refusals, in queue order)
 * through a cursor, a batch at a time, into the report builder: memory stays a few numbers per request.
 */

const BATCH_ROWS = 5_000;

/** The event's settings and categories; undefined if there is no such event. */
export async function loadEventInfo(db: pg.ClientBase | pg.Pool, eventId: string): Promise<FairnessEventInfo | undefined> {
  const { rows: events } = await db.query<{ id: string; max_per_user: number; admission_mode: 'fifo' | 'lottery'; lottery_window_s: number | null; lottery_seed: string | null }>(
    `SELECT id, max_per_user, admission_mode, lottery_window_s, lottery_seed FROM events WHERE id = $1`,
    [eventId],
  );
  const event = events[0];
  if (!event) return undefined;
  const { rows: categories } = await db.query<{ id: string; name: string; total_stock: number }>(
    `SELECT id, name, total_stock FROM ticket_categories WHERE event_id = $1 ORDER BY created_at, id`,
    [eventId],
  );
  return {
    eventId: event.id,
    maxPerUser: event.max_per_user,
    mode: event.admission_mode,
    lottery: event.admission_mode === 'lottery' ? { windowS: event.lottery_window_s!, seed: Number(event.lottery_seed) } : undefined,
    categories: categories.map((c) => ({ id: c.id, name: c.name, totalStock: c.total_stock })),
  };
}

const ms = (column: string) => `round(extract(epoch FROM ${column}) * 1000)::float8`;

// Queue order: a lottery's drawn requests by draw number first, then everyone by arrival number.
const ROWS = `
SELECT source, seq_arrival::float8 AS seq_arrival, category_id, user_id, qty, status, reason,
  seq_decision::float8 AS seq_decision, received_at_ms, decided_at_ms, updated_at_ms, draw_no
FROM (
  SELECT 'reservation' AS source, seq_arrival, category_id, user_id, qty, status, reason, seq_decision,
    ${ms('created_at')} AS received_at_ms, ${ms('decided_at')} AS decided_at_ms, ${ms('updated_at')} AS updated_at_ms, draw_no
  FROM reservations WHERE event_id = $1
  UNION ALL
  SELECT 'refusal', seq_arrival, category_id, user_id, qty, 'refused', reason, NULL,
    ${ms('received_at')}, NULL, ${ms('received_at')}, NULL
  FROM refusals WHERE event_id = $1
) AS arrivals
ORDER BY draw_no IS NULL, draw_no, seq_arrival`;

type RawRow = [string, number, string, string, number, string, string | null, number | null, number, number | null, number, number | null];

/** The report of `eventId`, or undefined if there is no such event. */
export async function computeFairnessReport(client: pg.ClientBase, eventId: string, now = new Date()): Promise<FairnessReport | undefined> {
  const info = await loadEventInfo(client, eventId);
  if (!info) return undefined;
  const builder = new FairnessReportBuilder(info);
  const cursor = client.query(new Cursor<RawRow>(ROWS, [eventId], { rowMode: 'array' }));
  try {
    for (;;) {
      const rows = await cursor.read(BATCH_ROWS);
      if (rows.length === 0) break;
      for (const r of rows) builder.add(toRow(r));
    }
  } finally {
    await cursor.close();
  }
  return builder.build(now);
}

function toRow(r: RawRow): FairnessRow {
  return {
    source: r[0] === 'refusal' ? 'refusal' : 'reservation',
    seqArrival: r[1],
    categoryId: r[2],
    userId: r[3],
    qty: r[4],
    status: r[5],
    reason: r[6],
    seqDecision: r[7],
    receivedAtMs: r[8],
    decidedAtMs: r[9],
    updatedAtMs: r[10],
    drawNo: r[11],
  };
}
