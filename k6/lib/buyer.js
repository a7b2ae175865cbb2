// One buyer's attempt, shared by ticket-war.js and fairness.js: reserve; while queued, long-poll
// GET /reservations/{id}?wait=N&status=queued; when held, confirm. The Node driver does the same
// (scripts/loadtest/attempt.ts). Every request is tagged `endpoint: <name>` from
// scripts/loadtest/contract.ts, which the thresholds filter on; test/k6-scripts.test.ts checks both.
import http from 'k6/http';
import { check } from 'k6';
import { Counter, Trend } from 'k6/metrics';

/** Seats held (won), summed over users; compare with the category's total_stock. */
export const seatsWon = new Counter('seats_won');
/** Seats booked. */
export const seatsConfirmed = new Counter('seats_confirmed');
/** From sending the reserve to reading the shard's decision (long-polls included). */
export const timeToDecision = new Trend('time_to_decision', true);

/** Long-polls one attempt may make before it counts as an error. */
const MAX_POLLS = 100;

/**
 * ctx: {baseUrl, eventId, category, qty, waitS, token}; handled: the statuses a ticket war answers
 * normally. Returns 'won', 'out_of_stock', 'limit_exceeded', 'shed', 'rejected' or 'error'.
 */
export function attempt(ctx, handled) {
  const headers = { 'Content-Type': 'application/json', Authorization: `Bearer ${ctx.token}` };
  const startedAt = Date.now();
  const reserve = http.post(`${ctx.baseUrl}/reserve`, JSON.stringify({ event_id: ctx.eventId, category: ctx.category, qty: ctx.qty }), {
    headers,
    tags: { endpoint: 'reserve' },
  });
  check(reserve, { 'reserve answered a handled status': (r) => handled.includes(r.status) });
  if (reserve.status === 429) return 'shed';
  if (reserve.status === 409) return refusal(reserve.json('code'));
  if (reserve.status !== 201 && reserve.status !== 202) return 'error';

  const id = reserve.json('reservation_id');
  let reservation = reserve.json();
  for (let polls = 0; reservation.status === 'queued'; polls++) {
    if (polls === MAX_POLLS) return 'error';
    const poll = http.get(`${ctx.baseUrl}/reservations/${id}?wait=${ctx.waitS}&status=queued`, {
      headers,
      tags: { endpoint: 'poll' },
    });
    check(poll, { 'long-poll answered 200': (r) => r.status === 200 });
    if (poll.status !== 200) return 'error';
    reservation = poll.json();
  }
  timeToDecision.add(Date.now() - startedAt);
  if (reservation.status === 'rejected') return refusal(reservation.reason);
  if (reservation.status !== 'reserved') return 'error';

  seatsWon.add(ctx.qty);
  const confirm = http.post(`${ctx.baseUrl}/confirm`, JSON.stringify({ reservation_id: id }), {
    headers,
    tags: { endpoint: 'confirm' },
  });
  // 402 is a declined (simulated) card: the hold stays until it expires.
  check(confirm, { 'confirm answered 200 or 402': (r) => r.status === 200 || r.status === 402 });
  if (confirm.status === 200) seatsConfirmed.add(ctx.qty);
  return 'won';
}

function refusal(code) {
  if (code === 'out_of_stock' || code === 'limit_exceeded') return code;
  if (code === 'queue_full' || code === 'rate_limited') return 'shed';
  return 'rejected';
}
