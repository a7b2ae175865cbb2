/**
 * npm run bench:fairness — how long the fairness report takes for one million requests.
 *   1. In memory: one million synthetic rows (one event, 50,000 seats; 200,000 admitted and decided
 *      with a few local inversions, 800,000 refused at the door or shed) through the report builder.
 *   2. From PostgreSQL (unless --no-postgres): the same shape written to the bench database with
 *      generate_series, then the whole report as the gateway computes it (a cursor in a worker thread).
 *      Needs `npm run infra -- up` and `npm run migrate`. The rows are deleted afterwards.
 * Prints run time, rows per second, and the process's peak RSS.
 * Options: --rows N (1000000), --no-postgres.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../core/config.ts';
import { FairnessReports } from '../core/fairness/fairness-reports.ts';
import { FairnessReportBuilder, type FairnessRow } from '../core/fairness/report.ts';
import { createLogger } from '../core/logger.ts';
import { createPool } from '../core/pg.ts';

const { values: args } = parseArgs({ options: { rows: { type: 'string', default: '1000000' }, 'no-postgres': { type: 'boolean', default: false } } });
const ROWS = Number(args.rows);
const ADMITTED = Math.round(ROWS / 5);
const SEATS = Math.round(ROWS / 20);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const mb = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MB`;

function inMemory(): void {
  const builder = new FairnessReportBuilder({ eventId: 'bench', maxPerUser: 4, mode: 'fifo', categories: [{ id: 'A', name: 'A', totalStock: SEATS }] });
  const start = performance.now();
  let won = 0;
  for (let i = 0; i < ROWS; i++) {
    const seq = i + 1;
    const receivedAtMs = 1_764_000_000_000 + Math.floor(i / 20);
    const user = `user-${i % 200_000}`;
    let row: FairnessRow;
    if (i < ADMITTED) {
      // Decisions follow arrivals, with every 1,000th pair swapped.
      const seqDecision = i % 1000 === 0 && i + 1 < ADMITTED ? seq + 1 : i % 1000 === 1 ? seq - 1 : seq;
      const isWon = won < SEATS && (won += 1) > 0;
      row = {
        source: 'reservation', seqArrival: seq, categoryId: 'A', userId: user, qty: 1, status: isWon ? 'confirmed' : 'rejected',
        reason: isWon ? null : 'out_of_stock', seqDecision, receivedAtMs, decidedAtMs: receivedAtMs + 5 + (i % 50), updatedAtMs: receivedAtMs + 100, drawNo: null,
      };
    } else {
      row = {
        source: 'refusal', seqArrival: seq, categoryId: 'A', userId: user, qty: 1, status: 'refused', reason: i % 2 ? 'out_of_stock' : 'queue_full',
        seqDecision: null, receivedAtMs, decidedAtMs: null, updatedAtMs: receivedAtMs, drawNo: null,
      };
    }
    builder.add(row);
  }
  const report = builder.build();
  const ms = performance.now() - start;
  console.log(`  in memory:      ${fmt(ROWS)} rows in ${fmt(ms)} ms = ${fmt((ROWS * 1000) / ms)} rows/s  (inversions ${fmt(report.order.inversions)}, late winners ${report.winners.late_winners}, peak RSS ${mb(process.resourceUsage().maxRSS * 1024)})`);
}

async function fromPostgres(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('bench', 'warn');
  const db = createPool(config.databaseUrl, logger);
  const reports = new FairnessReports(config.databaseUrl);
  const eventId = (await db.query<{ id: string }>(`INSERT INTO events (name, date, max_per_user) VALUES ('bench fairness', now(), 4) RETURNING id`)).rows[0]!.id;
  try {
    const categoryId = (await db.query<{ id: string }>(
      `INSERT INTO ticket_categories (event_id, name, name_key, total_stock, price) VALUES ($1, 'A', 'a', $2, 1) RETURNING id`, [eventId, SEATS],
    )).rows[0]!.id;
    const loadStart = performance.now();
    await db.query(
      `INSERT INTO reservations (id, event_id, category_id, user_id, qty, status, reason, seq_arrival, seq_decision, decided_at, created_at, updated_at, version)
       SELECT $1 || '.' || i, $1::uuid, $2::uuid, 'user-' || (i % 200000), 1,
         CASE WHEN i <= $4 THEN 'confirmed' ELSE 'rejected' END, CASE WHEN i <= $4 THEN NULL ELSE 'out_of_stock' END,
         i, i, to_timestamp(1764000000 + i / 20000.0 + 0.005), to_timestamp(1764000000 + i / 20000.0), to_timestamp(1764000000 + i / 20000.0 + 0.1), 2
       FROM generate_series(1, $3::int) AS i`,
      [eventId, categoryId, ADMITTED, SEATS],
    );
    await db.query(
      `INSERT INTO refusals (reservation_id, event_id, category_id, user_id, qty, seq_arrival, reason, received_at)
       SELECT $1 || '.r' || i, $1::uuid, $2::uuid, 'user-' || (i % 200000), 1, i,
         CASE WHEN i % 2 = 1 THEN 'out_of_stock' ELSE 'queue_full' END, to_timestamp(1764000000 + i / 20000.0)
       FROM generate_series($3::int + 1, $4::int) AS i`,
      [eventId, categoryId, ADMITTED, ROWS],
    );
    await db.query('ANALYZE reservations; ANALYZE refusals');
    console.log(`  (wrote ${fmt(ROWS)} rows to PostgreSQL in ${fmt(performance.now() - loadStart)} ms, not part of the figure)`);
    const start = performance.now();
    const report = await reports.report(eventId);
    const ms = performance.now() - start;
    console.log(`  from PostgreSQL: ${fmt(report!.requests.arrivals)} rows in ${fmt(ms)} ms = ${fmt((ROWS * 1000) / ms)} rows/s  (cursor + worker thread, as GET /admin/events/{id}/fairness; won ${fmt(report!.requests.won)}, oversold ${report!.conservation.oversold_seats})`);
  } finally {
    await db.query('DELETE FROM reservations WHERE event_id = $1', [eventId]);
    await db.query('DELETE FROM refusals WHERE event_id = $1', [eventId]);
    await db.query('DELETE FROM ticket_categories WHERE event_id = $1', [eventId]);
    await db.query('DELETE FROM events WHERE id = $1', [eventId]);
    await reports.close();
    await db.end();
  }
}

console.log(`bench:fairness  ${fmt(ROWS)} requests (${fmt(ADMITTED)} admitted and decided, ${fmt(SEATS)} seats, the rest refused at the door or shed)`);
inMemory();
if (!args['no-postgres']) await fromPostgres();
