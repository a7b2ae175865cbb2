import { expect } from 'chai';
import { testLogger, waitFor } from './support/env.ts';
import { createRedis } from '../core/redis.ts';
import { ReservationStore } from '../core/reservation-store.ts';
import { seedEvent, startTestStack, type TestStack } from './support/stack.ts';

// Each process's /metrics, scraped after real traffic: the names the dashboards and alerts use
// (dashboards/), and the label rule: ids of events, categories and shards only, never reservation or
// user ids, never raw URLs.
describe('metrics of every process', function () {
  this.timeout(120_000);
  let stack: TestStack;

  before(async () => {
    stack = await startTestStack({ gateway: true, shard: true, persister: true });
  });
  after(async () => {
    await stack.close();
  });

  const scrape = async (url: string) => {
    const res = await fetch(url);
    expect(res.status, url).to.equal(200);
    return res.text();
  };
  /** `# TYPE name kind` lines: every registered metric, with samples or not. */
  const names = (text: string) => new Set([...text.matchAll(/^# TYPE (\S+) \S+$/gm)].map((m) => m[1]!));
  /** Every sample's labels. */
  const labelSets = (text: string) =>
    text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((line) => {
      const body = /^[^{\s]+\{(.*)\}\s/.exec(line)?.[1] ?? '';
      return { line, labels: [...body.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!] as const) };
    });
  /** The value of the sample of `name` carrying every label of `labels` (undefined if none). */
  function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
    const wanted = Object.entries(labels);
    for (const { line, labels: have } of labelSets(text)) {
      if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
      if (wanted.every(([k, v]) => have.some(([hk, hv]) => hk === k && hv === v))) return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return undefined;
  }
  const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
  const ID_LABELS = new Set(['event_id', 'category_id', 'shard_id']);
  const FORBIDDEN_LABELS = ['reservation_id', 'user_id', 'user', 'sub', 'request_id', 'url', 'path', 'booking_id'];

  function checkLabelRule(text: string, process: string): void {
    for (const { line, labels } of labelSets(text)) {
      for (const [name, value] of labels) {
        expect(FORBIDDEN_LABELS, `${process}: label ${name} in ${line}`).to.not.include(name);
        if (!ID_LABELS.has(name)) expect(UUID.test(value), `${process}: an id in label ${name}: ${line}`).to.equal(false);
        expect(/^[0-9a-f-]{36}\.[0-9a-f-]{36}$/.test(value), `${process}: a reservation id in ${line}`).to.equal(false);
        if (name === 'route') expect(value === 'unmatched' || (value.startsWith('/') && !value.includes('?')), `${process}: route ${value}`).to.equal(true);
      }
    }
  }

  it('the gateway, the shard and the persister export the named metrics, with ids of events, categories and shards only', async () => {
    const { eventId, categoryId } = await seedEvent(stack, { total_stock: 2 });
    const reserve = (user: string) => stack.http('POST', '/reserve', { token: stack.token('user', user), body: { event_id: eventId, category: 'VIP', qty: 1 } });
    const admitted = await Promise.all([reserve('m1'), reserve('m2'), reserve('m3')]);
    expect(admitted.map((r) => r.status)).to.deep.equal([202, 202, 202]);
    await stack.http('GET', `/reservations/${admitted[0]!.body.reservation_id as string}`, { token: stack.token('user', 'm1') });
    await stack.http('GET', '/no/such/route/00000000-0000-4000-8000-000000000000');
    // The shard decides (2 reserved, 1 out of stock) and publishes; the persister writes.
    const redis = createRedis(stack.config.redisUrl, testLogger());
    const store = new ReservationStore(redis, { keyPrefix: stack.config.keyPrefix, holdTtlMs: 1, retentionMs: 1 });
    await waitFor('decisions', async () => Number(await redis.get(store.keys(eventId).decided)) === 3 || undefined, 30_000);
    await redis.quit();
    const shardUrl = `http://127.0.0.1:${stack.shard!.opsPort}/metrics`;
    const persisterUrl = `http://127.0.0.1:${stack.persister!.opsPort}/metrics`;
    const shardText = await waitFor('the decisions counted from the published records', async () => {
      const text = await scrape(shardUrl);
      return /wt_decisions_total\{[^}]*outcome="out_of_stock"[^}]*\} 1/.test(text) ? text : undefined;
    }, 30_000);
    const persisterText = await waitFor('the persister to write', async () => {
      const text = await scrape(persisterUrl);
      return /wt_persister_records_total\{kind="snapshot"\} [1-9]/.test(text) ? text : undefined;
    }, 30_000);
    const gatewayText = await scrape(`${stack.baseUrl}/metrics`);

    const expectNames = (text: string, expected: string[], process: string) => {
      const have = names(text);
      expect(expected.filter((n) => !have.has(n)), `${process} is missing`).to.deep.equal([]);
    };
    const DEFAULTS = ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes'];
    expectNames(gatewayText, [
      ...DEFAULTS, 'wt_http_request_duration_seconds', 'wt_admissions_total', 'wt_rate_limited_total', 'wt_gateway_long_polls_waiting',
      'wt_category_available', 'wt_ready',
    ], 'gateway');
    expectNames(shardText, [
      ...DEFAULTS, 'wt_shard_owned_events', 'wt_events_unowned', 'wt_shard_live_workers', 'wt_queue_depth', 'wt_queue_max_depth',
      'wt_queue_oldest_wait_seconds', 'wt_holds_active', 'wt_decisions_total', 'wt_admission_to_decision_seconds', 'wt_expiries_total',
      'wt_shard_fenced_jobs_total', 'wt_outbox_backlog', 'wt_outbox_published_total', 'wt_kafka_produce_seconds', 'wt_kafka_produce_errors_total',
      'wt_redis_used_memory_bytes', 'wt_redis_maxmemory_bytes', 'wt_ready',
    ], 'shard');
    expectNames(persisterText, [
      ...DEFAULTS, 'wt_persister_batch_size', 'wt_persister_write_seconds', 'wt_persister_lag_seconds', 'wt_persister_lag_messages', 'wt_persister_records_total',
      'wt_persister_dead_letters_total', 'wt_ready',
    ], 'persister');

    // What happened shows in the samples.
    const shard = { shard_id: stack.shard!.shardId };
    expect(sample(gatewayText, 'wt_admissions_total', { event_id: eventId, outcome: 'admitted' })).to.equal(3);
    expect(sample(gatewayText, 'wt_http_request_duration_seconds_count', { method: 'POST', route: '/reserve', status_code: '202' })).to.be.at.least(3);
    expect(sample(gatewayText, 'wt_http_request_duration_seconds_count', { method: 'GET', route: '/reservations/:id', status_code: '200' })).to.equal(1);
    expect(sample(gatewayText, 'wt_http_request_duration_seconds_count', { method: 'GET', route: 'unmatched', status_code: '404' })).to.equal(1);
    expect(sample(gatewayText, 'wt_category_available', { event_id: eventId, category_id: categoryId })).to.equal(0);
    expect(sample(gatewayText, 'wt_ready', { dependency: 'redis' })).to.equal(1);
    expect(sample(shardText, 'wt_decisions_total', { event_id: eventId, outcome: 'reserved', ...shard })).to.equal(2);
    expect(sample(shardText, 'wt_holds_active', { event_id: eventId, ...shard })).to.equal(2);
    expect(sample(shardText, 'wt_queue_depth', { event_id: eventId, ...shard })).to.equal(0);
    expect(sample(shardText, 'wt_admission_to_decision_seconds_count', { event_id: eventId, ...shard })).to.equal(3);
    expect(sample(shardText, 'wt_outbox_published_total', shard)).to.be.at.least(6);
    expect(sample(shardText, 'wt_shard_owned_events', shard)).to.be.at.least(1);
    expect(sample(persisterText, 'wt_ready', { dependency: 'postgres' })).to.equal(1);
    expect(sample(persisterText, 'wt_persister_batch_size_count', {})).to.be.at.least(1);
    // Caught up (the decisions' snapshots are written): no lag.
    const caughtUp = await waitFor('the persister to catch up', async () => {
      const text = await scrape(persisterUrl);
      return sample(text, 'wt_persister_lag_messages', {}) === 0 ? text : undefined;
    }, 30_000);
    expect(sample(caughtUp, 'wt_persister_lag_seconds', {})).to.equal(0);

    checkLabelRule(gatewayText, 'gateway');
    checkLabelRule(shardText, 'shard');
    checkLabelRule(persisterText, 'persister');

    // Closing the sale drops the event's series from this gateway.
    const closed = await stack.http('PUT', `/admin/events/${eventId}/sale`, { token: stack.token('admin', 'admin-1'), body: { state: 'closed' } });
    expect(closed.status).to.equal(200);
    const after = await scrape(`${stack.baseUrl}/metrics`);
    expect(after).to.not.include(`event_id="${eventId}"`);
  });
});
