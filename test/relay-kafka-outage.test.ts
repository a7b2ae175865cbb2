import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import type pg from 'pg';
import { eventKeys } from '../core/keys.ts';
import { createPool } from '../core/pg.ts';
import { createRedis } from '../core/redis.ts';
import { testLogger, waitFor } from './support/env.ts';
import { freePort } from './support/spawn.ts';
import { seedEvent, startTestStack, type TestStack } from './support/stack.ts';

const run = promisify(execFile);
const INFRA = new URL('../scripts/infra.sh', import.meta.url).pathname;


// A Kafka broker of this test's own (scripts/infra.sh in a temporary state folder), so stopping it
// disturbs no other test.
describe('outbox relay across a Kafka outage', function () {
  this.timeout(240_000);
  let stateDir: string;
  let env: NodeJS.ProcessEnv;
  let stack: TestStack | undefined;
  let db: pg.Pool;

  const kafka = (command: 'up' | 'down') => run('bash', [INFRA, command, 'kafka'], { env, timeout: 180_000 });

  before(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'wt-kafka-'));
    const [port, controllerPort] = [await freePort(), await freePort()];
    env = { ...process.env, INFRA_STATE_DIR: stateDir, KAFKA_BROKERS: `127.0.0.1:${port}`, KAFKA_CONTROLLER_PORT: String(controllerPort) };
    await kafka('up');
    stack = await startTestStack({ gateway: true, shard: true, persister: true }, { kafkaBrokers: [`127.0.0.1:${port}`] });
    db = createPool(stack.config.databaseUrl, testLogger());
  });
  after(async () => {
    await kafka('up').catch(() => undefined); // the stack's clients close cleanly only with a broker to talk to
    await db?.end();
    await stack?.close();
    await kafka('down').catch(() => undefined);
    await rm(stateDir, { recursive: true, force: true });
  });

  const rowStatus = async (id: string) => (await db.query<{ status: string }>('SELECT status FROM reservations WHERE id = $1', [id])).rows[0]?.status;

  it('a reservation decided while Kafka is down still reaches Postgres once Kafka is back', async () => {
    const s = stack!;
    const { eventId } = await seedEvent(s, { total_stock: 5 });
    const token = s.token('user', 'outage-buyer');
    const before = await s.http('POST', '/reserve', { token, body: { event_id: eventId, category: 'VIP', qty: 1 } });
    await waitFor('the first reservation in Postgres', async () => (await rowStatus(before.body.reservation_id)) === 'reserved' || undefined, 60_000);

    await kafka('down');
    const during = await s.http('POST', '/reserve', { token, body: { event_id: eventId, category: 'VIP', qty: 1 } });
    expect(during.status).to.equal(202);
    const id = during.body.reservation_id as string;
    await waitFor('the decision while Kafka is down', async () => (await s.http('GET', `/reservations/${id}`, { token })).body.status === 'reserved' || undefined);
    const redis = createRedis(s.config.redisUrl, testLogger());
    const backlog = await redis.xlen(eventKeys(s.config.keyPrefix, eventId).outbox);
    await redis.quit();
    expect(backlog, 'the change waits in the outbox').to.be.greaterThan(0);
    expect(await rowStatus(id)).to.not.equal('reserved');

    await kafka('up');
    await waitFor('the change to reach Postgres after Kafka returned', async () => (await rowStatus(id)) === 'reserved' || undefined, 120_000);
  });
});
