import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { signToken } from '../core/auth-token.ts';
import { deleteTestKeys, deleteTestTopics, testConfig, waitFor } from './support/env.ts';
import { spawnProcess, type SpawnedProcess } from './support/spawn.ts';

// `npm run build` and the bundles production runs on plain node: they find their Lua scripts, the route
// files' OpenAPI blocks and the fairness worker's bundle, and serve a reserve end to end.
describe('the built processes (npm run build, dist/*.mjs on plain node)', function () {
  this.timeout(180_000);
  const config = testConfig();
  const processes: SpawnedProcess[] = [];
  let base = '';

  before(async () => {
    execFileSync(process.execPath, ['--import', 'tsx', 'scripts/build.ts'], { cwd: new URL('..', import.meta.url).pathname, stdio: ['ignore', 'ignore', 'inherit'] });
    processes.push(await spawnProcess('persister/main.ts', config, 'persisterPort', { built: true }));
    processes.push(await spawnProcess('shards/main.ts', config, 'shardPort', { built: true }));
    const gateway = await spawnProcess('gateway/main.ts', config, 'port', { built: true });
    processes.push(gateway);
    base = `http://127.0.0.1:${gateway.port}`;
  });
  after(async () => {
    for (const p of processes.reverse()) await p.stop();
    await deleteTestKeys(config);
    await deleteTestTopics(config);
  });

  const call = async (method: string, path: string, token: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('serves the OpenAPI document, a reserve decided by the built shard, and a fairness report from the built worker', async () => {
    const spec = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(spec.paths).to.have.property('/reserve');

    const admin = signToken(config.jwtSecret, { sub: 'admin-1', role: 'admin' });
    const event = await call('POST', '/events', admin, { name: 'Built', date: '2027-01-01T20:00:00Z' });
    expect(event.status).to.equal(201);
    const eventId = event.body.id as string;
    expect((await call('POST', `/events/${eventId}/ticket-category`, admin, { name: 'VIP', total_stock: 1, price: 100 })).status).to.equal(201);

    const buyer = signToken(config.jwtSecret, { sub: `buyer-${randomUUID()}`, role: 'user' });
    const held = await call('POST', '/reserve', buyer, { event_id: eventId, category: 'VIP', qty: 1 }, { prefer: 'wait=20' });
    expect(held.status, JSON.stringify(held.body)).to.equal(201);
    expect(held.body.status).to.equal('reserved');

    const report = await waitFor('the persisted reservation in the fairness report', async () => {
      const r = await call('GET', `/admin/events/${eventId}/fairness`, admin);
      return r.status === 200 && (r.body.requests as { won?: number } | undefined)?.won === 1 ? r : undefined;
    }, 60_000);
    expect(report.status).to.equal(200);
  });
});
