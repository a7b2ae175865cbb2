// A constant arrival rate of POST /reserve (one seat each), k6's twin of `npm run loadtest --
// --scenario reserve`. Every 201/202/409/429 is a normal answer in a ticket war; the threshold is on
// latency. Environment (k6 run -e NAME=value), checked against scripts/loadtest/contract.ts by
// test/k6-scripts.test.ts:
//   BASE_URL     gateway (http://127.0.0.1:8080)
//   EVENT_ID     the event (required; `npm run loadtest -- --seed-only` makes one)
//   CATEGORY     category name (A)
//   USER_TOKEN   one user's JWT, or
//   TOKENS_FILE  a file with one JWT per line, used round-robin (`npm run loadtest -- --write-tokens FILE`);
//                a relative path is read relative to this script's folder
//   RATE         requests started per second (200)
//   DURATION     how long (30s)
//   PRE_VUS      VUs allocated up front (50)
//   MAX_VUS      VUs at most, when answers slow down (500)
import http from 'k6/http';
import exec from 'k6/execution';
import { check } from 'k6';
import { SharedArray } from 'k6/data';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8080';
const EVENT_ID = __ENV.EVENT_ID || '';
const CATEGORY = __ENV.CATEGORY || 'A';
const TOKENS_FILE = __ENV.TOKENS_FILE || '';
const USER_TOKEN = __ENV.USER_TOKEN || '';

if (!EVENT_ID) throw new Error('set EVENT_ID (npm run loadtest -- --seed-only prints one)');
if (!TOKENS_FILE && !USER_TOKEN) throw new Error('set USER_TOKEN or TOKENS_FILE');

const TOKENS = TOKENS_FILE
  ? new SharedArray('tokens', () => open(TOKENS_FILE).split('\n').map((line) => line.trim()).filter((line) => line !== ''))
  : [USER_TOKEN];

const HANDLED_STATUSES = [201, 202, 409, 429];
http.setResponseCallback(http.expectedStatuses(...HANDLED_STATUSES));

export const options = {
  scenarios: {
    reserve: {
      executor: 'constant-arrival-rate',
      rate: Number(__ENV.RATE || 200),
      timeUnit: '1s',
      duration: __ENV.DURATION || '30s',
      preAllocatedVUs: Number(__ENV.PRE_VUS || 50),
      maxVUs: Number(__ENV.MAX_VUS || 500),
    },
  },
  thresholds: {
    http_req_duration: ['p(95)<200'],
    http_req_failed: ['rate<0.01'],
  },
};

const body = JSON.stringify({ event_id: EVENT_ID, category: CATEGORY, qty: 1 });

export default function () {
  const token = TOKENS[exec.scenario.iterationInTest % TOKENS.length];
  const res = http.post(`${BASE_URL}/reserve`, body, {
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    tags: { endpoint: 'reserve' },
  });
  check(res, { 'reserve answered 201, 202, 409 or 429': (r) => HANDLED_STATUSES.includes(r.status) });
}
