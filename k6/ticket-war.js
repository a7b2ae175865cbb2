// The ticket war: a burst of distinct users, each with its own token, each trying ATTEMPTS times to
// reserve, waiting for the decision with long-polls, and confirming what it holds. k6's twin of
// `npm run loadtest -- --scenario ticket-war`. It checks that no user ever holds more than
// MAX_PER_USER seats (cap_violations, a threshold) and, in teardown(), that nothing is oversold
// (GET /events/{id}/availability; with ADMIN_TOKEN also the fairness report). Environment, checked
// against scripts/loadtest/contract.ts by test/k6-scripts.test.ts:
//   BASE_URL      gateway (http://127.0.0.1:8080)
//   EVENT_ID      the event (required; `npm run loadtest -- --seed-only` makes one)
//   CATEGORY      category name (A)
//   TOKENS_FILE   one user JWT per line (required; `npm run loadtest -- --write-tokens FILE --users N`);
//                 a relative path is read relative to this script's folder
//   USERS         users taking part, each one iteration (all the tokens)
//   VUS           users in flight at once (200)
//   ATTEMPTS      reserve attempts per user (1; more than MAX_PER_USER / QTY probes the cap)
//   QTY           seats per reserve (1)
//   WAIT_S        long-poll wait in seconds, 1..30 (10)
//   MAX_PER_USER  the event's max_per_user (4)
//   MAX_DURATION  longest the burst may take (10m)
//   ADMIN_TOKEN   an admin JWT: teardown() then checks the fairness report too
import http from 'k6/http';
import exec from 'k6/execution';
import { check } from 'k6';
import { SharedArray } from 'k6/data';
import { Counter } from 'k6/metrics';
import { attempt } from './lib/buyer.js';
import { checkFairnessReport } from './lib/fairness-report.js';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8080';
const EVENT_ID = __ENV.EVENT_ID || '';
const CATEGORY = __ENV.CATEGORY || 'A';
const TOKENS_FILE = __ENV.TOKENS_FILE || '';
const ATTEMPTS = Number(__ENV.ATTEMPTS || 1);
const QTY = Number(__ENV.QTY || 1);
const WAIT_S = Number(__ENV.WAIT_S || 10);
const MAX_PER_USER = Number(__ENV.MAX_PER_USER || 4);
const ADMIN_TOKEN = __ENV.ADMIN_TOKEN || '';

if (!EVENT_ID) throw new Error('set EVENT_ID (npm run loadtest -- --seed-only prints one)');
if (!TOKENS_FILE) throw new Error('set TOKENS_FILE (npm run loadtest -- --write-tokens FILE --users N writes one)');

const TOKENS = new SharedArray('tokens', () => open(TOKENS_FILE).split('\n').map((line) => line.trim()).filter((line) => line !== ''));
const USERS = Math.min(Number(__ENV.USERS || TOKENS.length), TOKENS.length);

const HANDLED_STATUSES = [200, 201, 202, 402, 409, 429];
http.setResponseCallback(http.expectedStatuses(...HANDLED_STATUSES));

/** Users who held more than MAX_PER_USER seats (each user is one iteration, so it counts its own). */
const capViolations = new Counter('cap_violations');

export const options = {
  scenarios: {
    'ticket-war': {
      executor: 'shared-iterations',
      vus: Math.min(Number(__ENV.VUS || 200), USERS),
      iterations: USERS,
      maxDuration: __ENV.MAX_DURATION || '10m',
    },
  },
  thresholds: {
    'http_req_duration{endpoint:reserve}': ['p(95)<200'],
    'http_req_duration{endpoint:confirm}': ['p(95)<200'],
    http_req_failed: ['rate<0.01'],
    cap_violations: ['count==0'],
  },
};

export function setup() {
  const res = http.get(`${BASE_URL}/events/${EVENT_ID}/availability`, { tags: { endpoint: 'availability' } });
  if (res.status !== 200) exec.test.abort(`GET /events/${EVENT_ID}/availability answered ${res.status}`);
  const category = res.json('categories').find((c) => c.name.toLowerCase() === CATEGORY.toLowerCase());
  if (!category) exec.test.abort(`event ${EVENT_ID} has no category ${CATEGORY}`);
  return { totalStock: category.total_stock, availableAtStart: category.available };
}

// One iteration is one user: its own token, its own count of seats.
export default function () {
  const token = TOKENS[exec.scenario.iterationInTest];
  const ctx = { baseUrl: BASE_URL, eventId: EVENT_ID, category: CATEGORY, qty: QTY, waitS: WAIT_S, token };
  let held = 0;
  for (let i = 0; i < ATTEMPTS; i++) {
    const outcome = attempt(ctx, HANDLED_STATUSES);
    if (outcome === 'won') held += QTY;
    if (outcome === 'out_of_stock') break; // sold out: nothing left to try for
  }
  capViolations.add(held > MAX_PER_USER ? 1 : 0);
}

export function teardown(data) {
  const res = http.get(`${BASE_URL}/events/${EVENT_ID}/availability`, { tags: { endpoint: 'availability' } });
  const category = res.json('categories').find((c) => c.name.toLowerCase() === CATEGORY.toLowerCase());
  const taken = category.total_stock - category.available;
  console.log(
    `category ${category.name}: total_stock ${category.total_stock}, available ${category.available}, ` +
      `held ${category.held}, taken ${taken} (${data.availableAtStart} were available at the start); ` +
      'compare seats_won and seats_confirmed in the summary',
  );
  const isSound = check(category, {
    'not oversold: available >= 0': (c) => c.available >= 0,
    'not oversold: held <= total_stock': (c) => c.held <= c.total_stock,
  });
  if (!isSound) exec.test.fail(`oversold: available ${category.available}, held ${category.held} of ${category.total_stock}`);
  checkFairnessReport(BASE_URL, EVENT_ID, ADMIN_TOKEN);
}
