/**
 * npm run fairness -- --event <id> [--json]
 * Prints an event's fairness report (docs/fairness.md) computed from PostgreSQL (DATABASE_URL) in a
 * worker thread: a table for people, or with --json the JSON of GET /admin/events/{id}/fairness.
 * Exits 2 on bad arguments, 1 when the event does not exist.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../core/config.ts';
import { FairnessReports } from '../core/fairness/fairness-reports.ts';
import { formatFairnessReport } from '../core/fairness/format.ts';

const { values } = parseArgs({ options: { event: { type: 'string' }, json: { type: 'boolean', default: false } } });
if (!values.event || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(values.event)) {
  process.stderr.write('usage: npm run fairness -- --event <event uuid> [--json]\n');
  process.exit(2);
}
const reports = new FairnessReports(loadConfig().databaseUrl);
try {
  const report = await reports.report(values.event);
  if (!report) {
    process.stderr.write(`no event ${values.event}\n`);
    process.exitCode = 1;
  } else {
    process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatFairnessReport(report)}\n`);
  }
} finally {
  await reports.close();
}
