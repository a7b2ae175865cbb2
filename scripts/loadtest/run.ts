import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool } from 'undici';
import { signToken } from '../../core/auth-token.ts';
import { AdminApi, type CategoryAvailability, type SeededEvent } from './admin-api.ts';
import { ApiClient } from './api-client.ts';
import type { AttemptContext } from './attempt.ts';
import { COHORTS, SCENARIOS, type Cohort } from './contract.ts';
import { formatFairnessSideBySide, fairnessProblems, type DriverView } from './fairness-table.ts';
import { runFlood } from './flood.ts';
import { runFairness, runTicketWar, type FlowRunResult } from './flows.ts';
import { queueDepthFor, type LoadtestOptions } from './options.ts';
import { Outcomes } from './outcomes.ts';
import { RequestBudget } from './pacing.ts';
import { Progress } from './progress.ts';
import { Recorder } from './recorder.ts';
import { evaluateThresholds, formatRunSummary, hintsFor, type FlowSummary, type RunSummary } from './summary.ts';
import { mintUserTokens } from './tokens.ts';

const log = (line: string) => process.stderr.write(`[loadtest] ${line}\n`);

/** Mints the users' tokens and writes them one per line (k6's TOKENS_FILE). */
export async function writeTokens(options: LoadtestOptions, jwtSecret: string, path: string): Promise<void> {
  const tokens = mintUserTokens(jwtSecret, options.users, options.tokenTtlS);
  const file = createWriteStream(path);
  for (const token of tokens) if (!file.write(`${token}\n`)) await once(file, 'drain');
  file.end();
  await once(file, 'finish');
  log(`wrote ${tokens.length} user tokens (valid ${options.tokenTtlS} s) to ${path}`);
}

/** Seeds (or loads) the event and makes it ready for the load: sale open, queue limit high enough. */
async function prepareEvent(admin: AdminApi, options: LoadtestOptions): Promise<SeededEvent> {
  await admin.checkReady();
  const event = options.eventId
    ? await admin.loadEvent(options.eventId)
    : await admin.seedEvent({ name: `loadtest ${options.scenario} ${new Date().toISOString()}`, seats: options.seats, categories: options.categories, maxPerUser: options.maxPerUser });
  if (event.saleState !== 'open') {
    await admin.openSale(event.eventId);
    log(`sale of ${event.eventId} was ${event.saleState}: opened it`);
  }
  const depth = queueDepthFor(options);
  if (depth !== undefined) await admin.setQueueDepth(event.eventId, depth);
  log(`event ${event.eventId}: ${event.categories.map((c) => `${c.name} ${c.totalStock} seats`).join(', ')}; max ${event.maxPerUser} per user${depth ? `; queue max_depth ${depth}` : ''}`);
  return event;
}

/** Runs the whole thing and returns the exit code: 0, or 1 when a threshold or an invariant failed. */
export async function runLoadtest(options: LoadtestOptions, jwtSecret: string): Promise<number> {
  const admin = new AdminApi(options.baseUrl, signToken(jwtSecret, { sub: 'loadtest-admin', role: 'admin' }, options.tokenTtlS));
  const event = await prepareEvent(admin, options);
  if (options.seedOnly) {
    process.stdout.write(`EVENT_ID=${event.eventId}\nCATEGORY=${event.categories[0]!.name}\nMAX_PER_USER=${event.maxPerUser}\n`);
    return 0;
  }
  const contract = SCENARIOS[options.scenario];
  const mintStart = Date.now();
  const tokens = mintUserTokens(jwtSecret, options.users, options.tokenTtlS);
  log(`minted ${tokens.length} user tokens in ${((Date.now() - mintStart) / 1000).toFixed(1)} s`);

  const ndjson = options.ndjsonPath ? createWriteStream(options.ndjsonPath) : undefined;
  const recorder = new Recorder(contract.handledStatuses, ndjson);
  const outcomes = new Outcomes(event.maxPerUser);
  const budget = new RequestBudget(options.requests);
  const categoryOf = (user: number) => event.categories[user % event.categories.length]!.name;
  let isStopped = false;
  const onSigint = () => {
    if (isStopped) process.exit(130);
    isStopped = true;
    log('stopping (Ctrl-C again to quit at once)');
  };
  process.on('SIGINT', onSigint);
  const progress = new Progress(recorder);
  const pools: Pool[] = [];
  const contextFor = (connections: number): AttemptContext => {
    const pool = ApiClient.pool(options.baseUrl, connections);
    // Long-polls and confirms: up to a connection per user (each buyer waits on its own).
    const waitPool = ApiClient.pool(options.baseUrl, Math.max(connections, options.users));
    pools.push(pool, waitPool);
    const api = new ApiClient(pool, waitPool, options.scenario, recorder, budget, (options.waitS + 30) * 1000);
    return { api, outcomes, tokens, eventId: event.eventId, categoryOf, qty: options.qty, waitS: options.waitS, preferWait: options.preferWait };
  };
  const clientsOf = (c: Cohort) => Math.max(1, Math.round(c.vus * options.cohortScale));
  const limits = { budget, durationMs: options.durationS * 1000, attempts: options.attempts, users: options.users };

  log(`scenario ${options.scenario}: budget ${options.requests} requests, ${options.users} users${options.scenario === 'fairness' && options.rate === 0 ? ', unpaced' : `, ${options.rate} reserves/s offered`}`);
  const t0 = Date.now();
  progress.start();
  let flow: FlowRunResult | undefined;
  try {
    if (options.scenario === 'reserve') {
      await runFlood(
        { baseUrl: options.baseUrl, eventId: event.eventId, categoryOf, qty: options.qty, tokens, requests: options.requests, ratePerS: Math.max(1, Math.round(options.rate)), connections: options.connections, durationMs: limits.durationMs },
        recorder,
        () => isStopped,
      );
    } else if (options.scenario === 'ticket-war') {
      flow = await runTicketWar(contextFor(options.connections), limits, options.rate, () => isStopped);
    } else {
      flow = await runFairness((c) => contextFor(clientsOf(c)), COHORTS, clientsOf, limits, options.rate, () => isStopped);
    }
  } finally {
    progress.stop();
    process.off('SIGINT', onSigint);
    await Promise.all(pools.map((p) => p.close()));
    if (ndjson) {
      ndjson.end();
      await once(ndjson, 'finish');
    }
  }
  const elapsedS = (Date.now() - t0) / 1000;

  let availability: CategoryAvailability[] | undefined;
  try {
    availability = await admin.availability(event.eventId);
  } catch (err) {
    log(`could not read the availability: ${(err as Error).message}`);
  }
  const seats = event.categories.reduce((n, c) => n + c.totalStock, 0);
  const isFlow = options.scenario !== 'reserve';
  const flows: FlowSummary | undefined = isFlow
    ? {
        outcomes: [...outcomes.counts],
        decision: outcomes.decision.stats(),
        seatsWon: outcomes.seatsWon,
        seatsConfirmed: outcomes.seatsConfirmed,
        seatsTaken: outcomes.seatsTaken(Date.now()),
        capViolations: outcomes.capViolations,
        cohorts:
          options.scenario === 'fairness'
            ? COHORTS.map((c) => {
                const o = outcomes.cohort(c.name);
                return { name: c.name, clients: clientsOf(c), thinkMs: c.thinkMs, attempts: o.attempts, won: o.won, seatsWon: o.seatsWon, reserve: recorder.histogram(`${c.name}/reserve`).stats(), decision: o.decision.stats() };
              })
            : [],
      }
    : undefined;
  const offeredRate = options.scenario === 'fairness' && options.rate === 0 ? null : options.rate;
  const summary: RunSummary = {
    scenario: options.scenario,
    baseUrl: options.baseUrl,
    eventId: event.eventId,
    seats,
    categories: event.categories.length,
    maxPerUser: event.maxPerUser,
    users: options.users,
    elapsedS,
    offeredRate,
    requestBudget: options.requests,
    sent: recorder.sent,
    completed: recorder.completed,
    reserves: recorder.hasHistogram('reserve') ? recorder.histogram('reserve').count : 0,
    dropped: flow?.dropped ?? 0,
    latency: ['all', 'reserve', 'poll', 'confirm'].filter((k) => recorder.hasHistogram(k)).map((name) => ({ name, stats: recorder.histogram(name).stats() })),
    statuses: [...recorder.statuses].sort((a, b) => b[1] - a[1]),
    thresholds: evaluateThresholds(contract.thresholds, recorder, isFlow ? outcomes : undefined),
    flows,
    availability,
    hints: hintsFor(recorder, flow?.dropped ?? 0, offeredRate, elapsedS),
  };
  process.stdout.write(`\n${formatRunSummary(summary)}\n`);
  if (options.ndjsonPath) process.stdout.write(`\nEvery request: ${options.ndjsonPath} (NDJSON, ${recorder.completed} lines)\n`);

  let reportProblems: string[] = [];
  if (!options.skipReport) {
    if (options.settleS > 0) await sleep(options.settleS * 1000);
    const fetched = await admin.fairnessReport(event.eventId);
    if (fetched.kind === 'report') {
      const driver: DriverView = {
        reserves: summary.reserves,
        won: isFlow ? outcomes.counts.get('won') : undefined,
        outOfStock: isFlow ? outcomes.counts.get('out_of_stock')! : recorder.countError('out_of_stock'),
        limitExceeded: isFlow ? outcomes.counts.get('limit_exceeded')! : recorder.countError('limit_exceeded'),
        queueFull: recorder.countError('queue_full'),
        rateLimited: recorder.countError('rate_limited'),
        capViolations: isFlow ? outcomes.capViolations : undefined,
        oversoldSeats: isFlow ? Math.max(0, outcomes.seatsTaken(Date.now()) - seats) : undefined,
        seatsLeft: availability?.reduce((n, c) => n + c.available, 0),
        decision: isFlow ? outcomes.decision.stats() : undefined,
      };
      process.stdout.write(`\n${formatFairnessSideBySide(fetched.report, driver)}\n`);
      reportProblems = fairnessProblems(fetched.report);
    } else {
      process.stdout.write(`\nFairness report: ${fetched.note}\n`);
    }
  }
  const failedThresholds = summary.thresholds.filter((t) => !t.isPassed).map((t) => t.label);
  const brokenInvariants = flows ? [...(flows.seatsTaken > seats ? ['oversold'] : []), ...(flows.capViolations > 0 ? ['cap violated'] : [])] : [];
  const failures = [...failedThresholds, ...brokenInvariants, ...reportProblems];
  if (failures.length > 0) {
    process.stdout.write(`\nFAILED: ${failures.join('; ')}\n`);
    return 1;
  }
  return 0;
}

