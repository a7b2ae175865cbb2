import { expect } from 'chai';
import { IdleUsers, RequestBudget, startsDue } from '../scripts/loadtest/pacing.ts';
import { parseLoadtestArgs, queueDepthFor, type LoadtestOptions } from '../scripts/loadtest/options.ts';
import { TokenRotation, mintUserTokens, userSub } from '../scripts/loadtest/tokens.ts';
import { cohortOfUser } from '../scripts/loadtest/flows.ts';
import { endpointPath } from '../scripts/loadtest/contract.ts';

const run = (argv: string[]): LoadtestOptions => {
  const parsed = parseLoadtestArgs(argv);
  if (parsed.kind !== 'run') throw new Error(`expected options, got ${JSON.stringify(parsed)}`);
  return parsed.options;
};

describe('npm run loadtest: options, tokens and pacing', () => {
  it('the target run (100,000 requests from 20,000 users for 5,000 seats at 1,500/s) is expressible', () => {
    const o = run(['--requests', '100000', '--users', '20000', '--seats', '5000', '--rate', '1500']);
    expect(o).to.include({ requests: 100_000, users: 20_000, seats: 5_000, rate: 1_500, scenario: 'ticket-war', baseUrl: 'http://127.0.0.1:8080' });
    expect(queueDepthFor(o)).to.equal(100_000);
  });

  it('defaults are sensible and every flag is read', () => {
    const o = run([
      '--base-url', 'http://127.0.0.1:18080/', '--scenario', 'fairness', '--rate', '0', '--duration', '30', '--connections', '64',
      '--categories', '2', '--max-per-user', '2', '--qty', '2', '--attempts', '3', '--wait', '5', '--prefer-wait', '--cohort-scale', '0.5',
      '--ndjson', 'out.ndjson', '--token-ttl', '600', '--settle', '0', '--skip-report', '--max-depth', '500',
    ]);
    expect(o).to.include({ baseUrl: 'http://127.0.0.1:18080', scenario: 'fairness', rate: 0, durationS: 30, connections: 64, categories: 2, maxPerUser: 2, qty: 2 });
    expect(o).to.include({ attempts: 3, waitS: 5, preferWait: true, cohortScale: 0.5, ndjsonPath: 'out.ndjson', tokenTtlS: 600, settleS: 0, skipReport: true, maxDepth: 500 });
    expect(queueDepthFor(o)).to.equal(500);
    expect(queueDepthFor(run(['--keep-max-depth']))).to.equal(undefined);
    expect(queueDepthFor(run(['--requests', '50']))).to.equal(10_000);
  });

  it('every bad option is named in one message', () => {
    const parsed = parseLoadtestArgs(['--scenario', 'storm', '--users', '0', '--wait', '31', '--rate', 'fast', '--base-url', 'ftp://x']);
    expect(parsed.kind).to.equal('error');
    const message = parsed.kind === 'error' ? parsed.message : '';
    for (const name of ['--scenario', '--users', '--wait', '--rate', '--base-url']) expect(message).to.include(name);
    expect(parseLoadtestArgs(['--nope']).kind).to.equal('error');
    expect(parseLoadtestArgs(['--rate', '0']).kind, 'only the fairness scenario may be unpaced').to.equal('error');
    expect(parseLoadtestArgs(['--help']).kind).to.equal('help');
  });

  it('tokens are minted per user with stable subs and handed out round-robin', () => {
    const tokens = mintUserTokens('a-test-secret-that-is-long-enough-000', 3, 60);
    expect(new Set(tokens).size).to.equal(3);
    const payload = JSON.parse(Buffer.from(tokens[2]!.split('.')[1]!, 'base64url').toString()) as { sub: string; role: string };
    expect(payload).to.include({ sub: userSub(2), role: 'user' });
    const rotation = new TokenRotation(tokens);
    expect(Array.from({ length: 7 }, () => rotation.next().user)).to.deep.equal([0, 1, 2, 0, 1, 2, 0]);
  });

  it('the request budget refuses the request after the last one', () => {
    const budget = new RequestBudget(2);
    expect([budget.take(), budget.take(), budget.take()]).to.deep.equal([true, true, false]);
    expect(budget.used).to.equal(2);
    expect(budget.isSpent).to.equal(true);
  });

  it('at a constant rate, start k is due at k / rate seconds', () => {
    expect(startsDue(0, 1500)).to.equal(1);
    expect(startsDue(999, 1500)).to.equal(1499);
    expect(startsDue(1000, 1500)).to.equal(1501);
    expect(startsDue(10, 0.5)).to.equal(1);
  });

  it('an attempt takes the user idle the longest; a busy user is not taken again; used-up users leave', () => {
    const idle = new IdleUsers(3, 2);
    expect([idle.take(), idle.take()]).to.deep.equal([0, 1]);
    idle.release(0);
    expect([idle.take(), idle.take(), idle.take()]).to.deep.equal([2, 0, undefined]);
    idle.release(0); // its second attempt ended: done
    idle.release(1);
    idle.release(2);
    expect([idle.take(), idle.take(), idle.take()]).to.deep.equal([1, 2, undefined]);
  });

  it('users are split over cohorts as k6/fairness.js splits them, and paths come from the contract', () => {
    expect([0, 1, 2, 3, 4].map((u) => cohortOfUser(u, 3))).to.deep.equal([0, 1, 2, 0, 1]);
    expect(endpointPath('poll', 'evt:1', { wait: 10, status: 'queued' })).to.equal('/reservations/evt%3A1?wait=10&status=queued');
    expect(() => endpointPath('poll', 'x', { since: 1 })).to.throw(/since/);
    expect(() => endpointPath('availability')).to.throw(/needs an id/);
  });
});
