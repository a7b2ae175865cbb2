import { performance } from 'node:perf_hooks';
import type { ApiClient, ApiResponse } from './api-client.ts';
import { endpointPath } from './contract.ts';
import type { AttemptOutcome, Outcomes } from './outcomes.ts';

/** What every attempt of a run shares. */
export interface AttemptContext {
  readonly api: ApiClient;
  readonly outcomes: Outcomes;
  readonly tokens: readonly string[];
  readonly eventId: string;
  /** The category user i buys in. */
  readonly categoryOf: (user: number) => string;
  readonly qty: number;
  readonly waitS: number;
  readonly preferWait: boolean;
}

/** Long-polls one attempt may make before it is counted an error (the budget usually ends it first). */
const MAX_POLLS = 100;

const REFUSALS: Readonly<Record<string, AttemptOutcome>> = {
  out_of_stock: 'out_of_stock',
  limit_exceeded: 'limit_exceeded',
  queue_full: 'shed',
  rate_limited: 'shed',
};

const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * One buyer's attempt, as k6/lib/buyer.js does it: reserve; while queued, long-poll
 * `GET /reservations/{id}?wait=N&status=queued`; when held, confirm. Returns how it ended.
 */
export async function attempt(ctx: AttemptContext, user: number, cohort?: string): Promise<AttemptOutcome> {
  const token = ctx.tokens[user]!;
  const t0 = performance.now();
  const finish = (outcome: AttemptOutcome, isDecided = false): AttemptOutcome => {
    ctx.outcomes.finish(outcome, cohort, isDecided ? performance.now() - t0 : undefined);
    return outcome;
  };
  const reserved = await ctx.api.send({
    endpoint: 'reserve',
    path: endpointPath('reserve'),
    token,
    user,
    cohort,
    body: { event_id: ctx.eventId, category: ctx.categoryOf(user), qty: ctx.qty },
    headers: ctx.preferWait ? { prefer: `wait=${ctx.waitS}` } : undefined,
  });
  if (!reserved) return finish('abandoned');
  if (reserved.status === 409 || reserved.status === 429) {
    // A refusal naming a reservation was decided by the shard (Prefer: wait); others at the door.
    return finish(REFUSALS[reserved.error ?? ''] ?? 'rejected', reserved.body?.reservation_id !== undefined);
  }
  if (reserved.status !== 201 && reserved.status !== 202) return finish('error');
  const id = text(reserved.body?.reservation_id);
  if (id === undefined) return finish('error');

  let current: ApiResponse = reserved;
  for (let polls = 0; text(current.body?.status) === 'queued'; polls++) {
    if (polls === MAX_POLLS) return finish('error');
    const polled = await ctx.api.send({ endpoint: 'poll', path: endpointPath('poll', id, { wait: ctx.waitS, status: 'queued' }), token, user, cohort, reservationId: id });
    if (!polled) return finish('abandoned');
    if (polled.status !== 200) return finish('error');
    current = polled;
  }
  const status = text(current.body?.status);
  if (status === 'rejected') return finish(REFUSALS[text(current.body?.reason) ?? ''] ?? 'rejected', true);
  if (status !== 'reserved') return finish('error', true);

  const expiresAt = Date.parse(text(current.body?.expires_at) ?? '');
  ctx.outcomes.held(user, { reservationId: id, qty: ctx.qty, expiresAt: Number.isNaN(expiresAt) ? Infinity : expiresAt }, Date.now(), cohort);
  finish('won', true);
  const confirmed = await ctx.api.send({ endpoint: 'confirm', path: endpointPath('confirm'), token, user, cohort, body: { reservation_id: id }, reservationId: id });
  // A declined payment (402) leaves the hold to expire; the seats count as the user's until then.
  if (confirmed?.status === 200) ctx.outcomes.confirmed(user, id);
  return 'won';
}
