import type { Config } from '../../core/config.ts';
import { signToken, type Role } from '../../core/auth-token.ts';
import { startGateway, type Gateway } from '../../gateway/gateway.ts';
import type { PaymentGateway } from '../../gateway/payment/simulated-payment.ts';
import { startPersister, type Persister } from '../../persister/persister.ts';
import { startShard, type Shard } from '../../shards/shard.ts';
import { deleteTestKeys, deleteTestTopics, testConfig, testLogger } from './env.ts';

/**
 * The three processes started in this test process, on the real servers, with this test's own names
 * (see testConfig). Each is the same start function its main.ts calls.
 */
export interface TestStack {
  readonly config: Config;
  readonly gateway: Gateway | undefined;
  readonly shard: Shard | undefined;
  readonly persister: Persister | undefined;
  readonly baseUrl: string;
  token(role: Role, sub: string): string;
  http(method: string, path: string, options?: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> }): Promise<HttpResult>;
  close(): Promise<void>;
}

export interface HttpResult {
  readonly status: number;
  readonly headers: Headers;
  // Tests read response JSON of many shapes; `any` is confined to this test helper.
  readonly body: any;
}

export async function startTestStack(
  parts: { gateway?: boolean; shard?: boolean; persister?: boolean; payment?: PaymentGateway } = { gateway: true },
  overrides: Parameters<typeof testConfig>[0] = {},
): Promise<TestStack> {
  const config = testConfig(overrides);
  const persister = parts.persister ? await startPersister(config, testLogger('persister')) : undefined;
  const shard = parts.shard ? await startShard(config, testLogger('shard')) : undefined;
  const gateway = parts.gateway ? await startGateway(config, testLogger('gateway'), { payment: parts.payment }) : undefined;
  const baseUrl = `http://127.0.0.1:${gateway?.port ?? 0}`;
  return {
    config,
    gateway,
    shard,
    persister,
    baseUrl,
    token: (role, sub) => signToken(config.jwtSecret, { role, sub }),
    async http(method, path, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      if (options.token) headers.authorization = `Bearer ${options.token}`;
      let body: string | undefined = options.rawBody;
      if (options.body !== undefined) {
        body = JSON.stringify(options.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await fetch(`${baseUrl}${path}`, { method, headers, body });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON: keep the text
      }
      return { status: res.status, headers: res.headers, body: parsed };
    },
    async close() {
      await gateway?.close();
      await shard?.close();
      await persister?.close();
      await deleteTestKeys(config);
      if (shard || persister) await deleteTestTopics(config);
    },
  };
}

/** Creates an event and one category through the admin API; returns their ids. */
export async function seedEvent(stack: TestStack, category: { name?: string; total_stock: number; price?: number }, event: Record<string, unknown> = {}) {
  const admin = stack.token('admin', 'admin-1');
  const created = await stack.http('POST', '/events', { token: admin, body: { name: 'Test concert', date: '2027-01-01T20:00:00Z', ...event } });
  if (created.status !== 201) throw new Error(`create event: ${created.status} ${JSON.stringify(created.body)}`);
  const cat = await stack.http('POST', `/events/${created.body.id}/ticket-category`, {
    token: admin,
    body: { name: category.name ?? 'VIP', total_stock: category.total_stock, price: category.price ?? 10_000 },
  });
  if (cat.status !== 201) throw new Error(`create category: ${cat.status} ${JSON.stringify(cat.body)}`);
  return { eventId: created.body.id as string, categoryId: cat.body.id as string, categoryName: cat.body.name as string };
}
