import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Gauge, type Registry } from 'prom-client';

/**
 * The small HTTP server of the shard and persister processes: `/health` (the process is alive),
 * `/ready` (200 when every check passes, 503 naming what is down) and, given a registry, `/metrics`
 * (Prometheus text format).
 */
export type ReadinessCheck = () => Promise<void>;

export interface OpsServer {
  readonly port: number;
  close(): Promise<void>;
}

const CHECK_TIMEOUT_MS = 2_000;

async function runCheck(check: ReadinessCheck): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([check(), timeout]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `wt_ready{dependency}`: 1 while a readiness check passes, 0 while it fails, run at each scrape (so an
 * alert sees what `/ready` would answer).
 */
export function registerReadiness(registry: Registry, checks: Record<string, ReadinessCheck>): void {
  const ready = new Gauge({
    name: 'wt_ready',
    help: "1 while this process's dependency answers its readiness check, 0 while it does not",
    labelNames: ['dependency'],
    registers: [registry],
    async collect() {
      await Promise.all(Object.entries(checks).map(async ([dependency, check]) => ready.set({ dependency }, (await runCheck(check)) ? 1 : 0)));
    },
  });
}

export async function startOpsServer(port: number, checks: Record<string, ReadinessCheck>, metrics?: Registry): Promise<OpsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: unknown, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET') return send(405, { code: 'method_not_allowed' });
    if (path === '/health') return send(200, { status: 'ok' });
    if (path === '/metrics' && metrics) {
      void metrics.metrics().then(
        (text) => { res.writeHead(200, { 'content-type': metrics.contentType }); res.end(text); },
        () => send(503, { code: 'service_unavailable' }),
      );
      return;
    }
    if (path === '/ready') {
      void Promise.all(Object.entries(checks).map(async ([name, check]) => [name, await runCheck(check)] as const)).then((results) => {
        const down = results.filter(([, ok]) => !ok).map(([name]) => name);
        if (down.length === 0) return send(200, { status: 'ready' });
        send(503, { type: 'about:blank', title: 'Not ready', status: 503, code: 'service_unavailable', detail: `down: ${down.join(', ')}`, down }, 'application/problem+json');
      });
      return;
    }
    send(404, { code: 'route_not_found' });
  });
  await new Promise<void>((resolve) => server.listen(port, '0.0.0.0', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
