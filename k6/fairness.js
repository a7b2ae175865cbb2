// Cohorts of buyers with different speeds compete for the same stock: each cohort is a k6 scenario
// with its own VUs (connections) and think time, tagged `cohort: <name>`, so k6's summary shows
// latency, seats won and time to decision per cohort. In a first-come-first-served sale the fast
// cohort wins more because it arrives earlier, not because it is served out of order: the fairness
// report (teardown(), with ADMIN_TOKEN) checks the order. k6's twin of `npm run loadtest --
// --scenario fairness`; the cohorts are scripts/loadtest/contract.ts's COHORTS. Environment:
//   BASE_URL      gateway (http://127.0.0.1:8080)
//   EVENT_ID      the event (required; `npm run loadtest -- --seed-only` makes one)
//   CATEGORY      category name (A)
//   TOKENS_FILE   one user JWT per line (required); user i belongs to cohort i mod 3;
//                 a relative path is read relative to this script's folder
//   DURATION      how long every cohort buys (60s)
//   QTY           seats per reserve (1)
//   WAIT_S        long-poll wait in seconds, 1..30 (10)
//   VUS_SCALE     multiplies every cohort's VUs (1)
//   ADMIN_TOKEN   an admin JWT: teardown() then checks the fairness report
import http from 'k6/http';
import exec from 'k6/execution';
import { sleep } from 'k6';
import { SharedArray } from 'k6/data';
import { attempt } from './lib/buyer.js';
import { checkFairnessReport } from './lib/fairness-report.js';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8080';
const EVENT_ID = __ENV.EVENT_ID || '';
const CATEGORY = __ENV.CATEGORY || 'A';
const TOKENS_FILE = __ENV.TOKENS_FILE || '';
const DURATION = __ENV.DURATION || '60s';
const QTY = Number(__ENV.QTY || 1);
const WAIT_S = Number(__ENV.WAIT_S || 10);
const VUS_SCALE = Number(__ENV.VUS_SCALE || 1);
const ADMIN_TOKEN = __ENV.ADMIN_TOKEN || '';

if (!EVENT_ID) throw new Error('set EVENT_ID (npm run loadtest -- --seed-only prints one)');
if (!TOKENS_FILE) throw new Error('set TOKENS_FILE (npm run loadtest -- --write-tokens FILE --users N writes one)');

const TOKENS = new SharedArray('tokens', () => open(TOKENS_FILE).split('\n').map((line) => line.trim()).filter((line) => line !== ''));

const COHORTS = [
  { name: 'fast', vus: 40, thinkMs: 0 },
  { name: 'steady', vus: 20, thinkMs: 250 },
  { name: 'slow', vus: 5, thinkMs: 1000 },
];

const HANDLED_STATUSES = [200, 201, 202, 402, 409, 429];
http.setResponseCallback(http.expectedStatuses(...HANDLED_STATUSES));

const scenarios = {};
for (const cohort of COHORTS) {
  scenarios[cohort.name] = {
    executor: 'constant-vus',
    vus: Math.max(1, Math.round(cohort.vus * VUS_SCALE)),
    duration: DURATION,
    exec: 'buyer',
    tags: { cohort: cohort.name },
  };
}

// The `{cohort:...}` entries always pass: they make k6's summary show each cohort's sub-metric.
export const options = {
  scenarios,
  thresholds: {
    'http_req_duration{endpoint:reserve}': ['p(95)<200'],
    http_req_failed: ['rate<0.01'],
    'http_req_duration{cohort:fast}': ['max>=0'],
    'seats_won{cohort:fast}': ['count>=0'],
    'time_to_decision{cohort:fast}': ['max>=0'],
    'http_req_duration{cohort:steady}': ['max>=0'],
    'seats_won{cohort:steady}': ['count>=0'],
    'time_to_decision{cohort:steady}': ['max>=0'],
    'http_req_duration{cohort:slow}': ['max>=0'],
    'seats_won{cohort:slow}': ['count>=0'],
    'time_to_decision{cohort:slow}': ['max>=0'],
  },
};

export function buyer() {
  const index = COHORTS.findIndex((c) => c.name === exec.scenario.name);
  const cohort = COHORTS[index];
  if (cohort.thinkMs > 0) sleep(cohort.thinkMs / 1000);
  // This cohort's users are i = index, index + 3, index + 6, ...; its iterations take them in turn.
  const members = Math.ceil((TOKENS.length - index) / COHORTS.length);
  const user = index + (exec.scenario.iterationInTest % members) * COHORTS.length;
  attempt({ baseUrl: BASE_URL, eventId: EVENT_ID, category: CATEGORY, qty: QTY, waitS: WAIT_S, token: TOKENS[user] }, HANDLED_STATUSES);
}

export function teardown() {
  checkFairnessReport(BASE_URL, EVENT_ID, ADMIN_TOKEN);
}
