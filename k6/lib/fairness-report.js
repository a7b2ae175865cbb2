// teardown() helper: fetches the event's fairness report (docs/fairness.md) with an admin token,
// prints its headline figures, and marks the test failed when an invariant is broken.
import http from 'k6/http';
import exec from 'k6/execution';
import { sleep } from 'k6';

/** Seconds to let the persister write the last decisions to PostgreSQL before reading the report. */
const SETTLE_S = 3;

export function checkFairnessReport(baseUrl, eventId, adminToken) {
  if (!adminToken) {
    console.log('no ADMIN_TOKEN: fairness report skipped (npm run -s token -- --role=admin gives one)');
    return;
  }
  sleep(SETTLE_S);
  const res = http.get(`${baseUrl}/admin/events/${eventId}/fairness`, {
    headers: { Authorization: `Bearer ${adminToken}` },
    tags: { endpoint: 'fairness_report' },
    timeout: '300s',
  });
  if (res.status !== 200) {
    console.warn(`fairness report: HTTP ${res.status} ${res.body}`);
    return;
  }
  const report = res.json();
  console.log(
    `fairness report: arrivals ${report.requests.arrivals}, won ${report.requests.won}, ` +
      `inversion rate ${report.order.inversion_rate}, precision ${report.winners.precision}, ` +
      `late winners ${report.winners.late_winners}, cap violations ${report.users.cap_violations}, ` +
      `oversold seats ${report.conservation.oversold_seats}, undersold refusals ${report.conservation.undersold_refusals}, ` +
      `time to decision p99 ${report.time.to_decision_ms.p99} ms`,
  );
  const broken = [];
  if (report.mode !== 'lottery' && report.winners.late_winners > 0) broken.push(`${report.winners.late_winners} late winners`);
  if (report.users.cap_violations > 0) broken.push(`${report.users.cap_violations} cap violations`);
  if (report.conservation.oversold_seats > 0) broken.push(`${report.conservation.oversold_seats} oversold seats`);
  if (broken.length > 0) exec.test.fail(`fairness report: ${broken.join(', ')}`);
}
