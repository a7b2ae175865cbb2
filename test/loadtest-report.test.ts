import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { AdminApi } from '../scripts/loadtest/admin-api.ts';
import { SCENARIOS } from '../scripts/loadtest/contract.ts';
import { fairnessProblems, formatFairnessSideBySide, type DriverView } from '../scripts/loadtest/fairness-table.ts';
import { Outcomes } from '../scripts/loadtest/outcomes.ts';
import { progressLine } from '../scripts/loadtest/progress.ts';
import { Recorder, ndjsonLine, type RequestRecord } from '../scripts/loadtest/recorder.ts';
import { evaluateThresholds, formatRunSummary, hintsFor, type RunSummary } from '../scripts/loadtest/summary.ts';

const request = (over: Partial<RequestRecord> = {}): RequestRecord => ({
  scenario: 'ticket-war',
  user: 7,
  endpoint: 'reserve',
  method: 'POST',
  path: '/reserve',
  status: 202,
  latencyMs: 12.3456,
  startedAt: Date.parse('2026-11-25T16:00:00.000Z'),
  reservationId: 'r-1',
  ...over,
});

/** Shaped as docs/fairness.md's JSON, with a cap violation to flag. */
const SAMPLE_REPORT = {
  event_id: 'e-1', mode: 'fifo', generated_at: '2026-11-25T16:00:00.000Z',
  requests: { arrivals: 12, admitted: 10, decided: 10, pending: 0, cancelled_queued: 0, won: 5,
    rejected: { out_of_stock: 4, limit_exceeded: 1, sales_closed: 0, internal_error: 0 },
    refused_at_door: { out_of_stock: 2 }, shed: { queue_full: 0, rate_limited: 0 } },
  order: { pairs: 45, inversions: 0, inversion_rate: 0,
    by_gap: [{ gap_ms: 1, pairs: 40, inversions: 0, inversion_rate: 0 }, { gap_ms: 100, pairs: 3, inversions: 0, inversion_rate: 0 }],
    displacement: { max: 0, p99: 0, mean: 0 } },
  winners: { won: 5, ideal: 5, precision: 1, late_winners: 0 },
  users: { users: 9, cap_violations: 1, jain_index: 0.5333, jain_index_ideal: 0.5333 },
  conservation: { oversold_seats: 0, undersold_refusals: 0, seats_left: 0 },
  shedding: { servable_arrivals: 5, servable_shed: 0, rate: 0 },
  time: { to_decision_ms: { p50: 4, p95: 9, p99: 11, max: 12 }, sold_out_after_ms: 830 },
  categories: [{ category_id: 'c-1', name: 'A', total_stock: 5, won: 5, won_seats: 5, returned_seats: 0, seats_left: 0, ideal: 5,
    precision: 1, late_winners: 0, oversold_seats: 0, undersold_refusals: 0, servable_arrivals: 5, servable_shed: 0, sold_out_after_ms: 830 }],
  lottery: null,
};

describe('npm run loadtest: results and the printed report', () => {
  it('each request becomes one NDJSON line with the documented fields', () => {
    const line = ndjsonLine(request({ cohort: 'fast', status: 409, error: 'out_of_stock' }));
    expect(line.endsWith('\n')).to.equal(true);
    expect(JSON.parse(line)).to.deep.equal({
      scenario: 'ticket-war', cohort: 'fast', user: 'loadtest-user-7', method: 'POST', path: '/reserve', status: 409,
      latency_ms: 12.346, started_at: '2026-11-25T16:00:00.000Z', reservation_id: 'r-1', error: 'out_of_stock',
    });
    expect(JSON.parse(ndjsonLine(request({ user: undefined, reservationId: undefined })))).to.include({ user: null, reservation_id: null, error: null, cohort: null });
  });

  it('the recorder counts statuses with their codes, failures outside the handled statuses, and writes every request', () => {
    const lines: string[] = [];
    const recorder = new Recorder(SCENARIOS.reserve.handledStatuses, { write: (l) => lines.push(l) });
    for (let i = 1; i <= 100; i++) recorder.record(request({ latencyMs: i }));
    recorder.record(request({ status: 429, error: 'rate_limited' }));
    recorder.record(request({ status: 500, error: 'internal_error' }));
    recorder.record(request({ status: 0, error: 'network:ECONNRESET' }));
    expect(lines).to.have.length(103);
    expect(recorder.countStatus(202)).to.equal(100);
    expect(recorder.countError('rate_limited')).to.equal(1);
    expect([recorder.failed, recorder.networkErrors]).to.deep.equal([2, 1]);
    const p95 = recorder.histogram('reserve').at(95);
    expect(p95).to.be.closeTo(95, 0.1);
  });

  it('thresholds from the contract pass or fail on the measured figures', () => {
    const fast = new Recorder(SCENARIOS['ticket-war'].handledStatuses);
    for (let i = 0; i < 100; i++) fast.record(request({ latencyMs: 10 }));
    const outcomes = new Outcomes(2);
    expect(evaluateThresholds(SCENARIOS['ticket-war'].thresholds, fast, outcomes).map((t) => t.isPassed)).to.deep.equal([true, true, true, true]);

    const slow = new Recorder(SCENARIOS['ticket-war'].handledStatuses);
    for (let i = 0; i < 100; i++) slow.record(request({ latencyMs: 250 }));
    slow.record(request({ status: 500 }));
    outcomes.held(1, { reservationId: 'a', qty: 2, expiresAt: Infinity }, 0);
    outcomes.held(1, { reservationId: 'b', qty: 1, expiresAt: Infinity }, 0);
    const results = evaluateThresholds(SCENARIOS['ticket-war'].thresholds, slow, outcomes);
    expect(results.map((t) => [t.label, t.isPassed])).to.deep.equal([
      ['http_req_duration{endpoint:reserve} p(95)<200', false],
      ['http_req_duration{endpoint:confirm} p(95)<200', true], // no confirm requests
      ['http_req_failed rate<0.01', true], // 1 of 101 is below 1%
      ['cap_violations count==0', false],
    ]);
  });

  it("a user's seats count against the cap while held or booked, not after the hold expired", () => {
    const outcomes = new Outcomes(2);
    outcomes.held(1, { reservationId: 'a', qty: 2, expiresAt: 100 }, 10);
    outcomes.held(1, { reservationId: 'b', qty: 1, expiresAt: 500 }, 200); // 'a' expired at 100
    expect(outcomes.capViolations).to.equal(0);
    outcomes.confirmed(1, 'b');
    outcomes.held(1, { reservationId: 'c', qty: 2, expiresAt: 900 }, 300); // 1 booked + 2 held = 3 > 2
    expect(outcomes.capViolations).to.equal(1);
    expect([outcomes.seatsWon, outcomes.seatsConfirmed, outcomes.seatsTaken(400), outcomes.seatsTaken(1000)]).to.deep.equal([5, 1, 3, 1]);
  });

  it('many 429 rate_limited answers print the load-test settings of docs/config.md', () => {
    const recorder = new Recorder(SCENARIOS.reserve.handledStatuses);
    for (let i = 0; i < 10; i++) recorder.record(request({ status: 429, error: 'rate_limited' }));
    const hints = hintsFor(recorder, 0, null, 1);
    expect(hints.join('\n')).to.include('RATE_LIMIT_PER_MIN=0 RATE_LIMIT_USER_PER_MIN=0 MAX_QUEUED_PER_USER=0');
    expect(hintsFor(new Recorder([202]), 0, null, 1)).to.deep.equal([]);
  });

  it('the run summary prints throughput offered and achieved, latency percentiles, statuses and thresholds', () => {
    const latency = { count: 3, p50: 4.2, p90: 9, p95: 10, p99: 150.4, max: 210 };
    const summary: RunSummary = {
      scenario: 'reserve', baseUrl: 'http://127.0.0.1:8080', eventId: 'e-1', seats: 5000, categories: 1, maxPerUser: 4, users: 20000,
      elapsedS: 2, offeredRate: 1500, requestBudget: 3000, sent: 3000, completed: 3000, reserves: 3000, dropped: 0,
      latency: [{ name: 'all', stats: latency }], statuses: [['202', 2000], ['409 out_of_stock', 1000]],
      thresholds: [{ label: 'http_req_duration p(95)<200', actual: '10.0 ms', isPassed: true }], hints: [],
    };
    const text = formatRunSummary(summary);
    for (const s of ['offered (reserve)', '1500', 'achieved (all)', '  1500', 'p99', '150', '409 out_of_stock', '33.3%', 'http_req_duration p(95)<200', 'pass']) expect(text).to.include(s);
  });

  it('the fairness report is printed beside what the driver saw, and its broken invariants are flagged', () => {
    const driver: DriverView = { reserves: 12, won: 5, outOfStock: 6, limitExceeded: 1, queueFull: 0, rateLimited: 0, capViolations: 0, oversoldSeats: 0, seatsLeft: 0,
      decision: { count: 10, p50: 5, p90: 9, p95: 10, p99: 12, max: 13 } };
    const text = formatFairnessSideBySide(SAMPLE_REPORT, driver);
    expect(text).to.match(/refused out_of_stock\s+6\s+6/);
    expect(text).to.match(/reserve requests \/ arrivals\s+12\s+12/);
    // then the report's own figures, as npm run fairness prints them
    expect(text).to.match(/^ {2}arrivals > 100 ms apart +0\.0000% +0 of 3 pairs/m);
    expect(text).to.match(/^cap violations +1 /m);
    expect(text).to.include('FAIRNESS BUG');
    expect(fairnessProblems(SAMPLE_REPORT)).to.deep.equal(['cap violations: 1']);
    const sound = { ...SAMPLE_REPORT, users: { ...SAMPLE_REPORT.users, cap_violations: 0 } };
    expect(fairnessProblems(sound)).to.deep.equal([]);
    expect(formatFairnessSideBySide({ mode: 'fifo' })).to.include('–'); // fields it lacks print as a dash
  });

  it('the progress line shows elapsed time, sent, completed, rate and the most frequent statuses', () => {
    const line = progressLine({ elapsedMs: 12_400, sent: 15_000, completed: 14_980, ratePerS: 1498.2, statuses: new Map([['202', 9000], ['409 out_of_stock', 5980]]) });
    expect(line).to.equal('[  12s] sent 15000  done 14980  1498/s  202:9000 409 out_of_stock:5980');
  });

  describe('fetching the report', () => {
    let server: Server;
    let answer: { status: number; body: unknown } = { status: 200, body: {} };
    let seenAuth: string | undefined;
    before(async () => {
      server = createServer((req, res) => {
        seenAuth = req.headers.authorization;
        res.writeHead(answer.status, { 'content-type': answer.status === 200 ? 'application/json' : 'application/problem+json' }).end(JSON.stringify(answer.body));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const api = () => new AdminApi(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, 'admin-token');

    it('a gateway without the fairness route gives a clear note, not an error', async () => {
      answer = { status: 404, body: { status: 404, code: 'route_not_found' } };
      const fetched = await api().fairnessReport('e-1');
      expect(fetched.kind).to.equal('unavailable');
      expect(fetched.kind === 'unavailable' ? fetched.note : '').to.include('does not serve GET /admin/events/e-1/fairness');
    });

    it('a served report comes back as JSON, asked for with the admin token', async () => {
      answer = { status: 200, body: SAMPLE_REPORT };
      const fetched = await api().fairnessReport('e-1');
      expect(fetched).to.deep.equal({ kind: 'report', report: SAMPLE_REPORT });
      expect(seenAuth).to.equal('Bearer admin-token');
    });
  });
});
