import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';

/**
 * The gateway's Prometheus registry: the process's default metrics and the long-polls in progress.
 * (The full set of metrics of every process is the observability work; this is its start.)
 */
export function createGatewayMetrics(sources: { waiting: () => number }): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'wt_gateway_long_polls_waiting',
    help: 'Long-polls (GET ?wait, Prefer: wait, confirms waiting on a payment) this gateway holds now',
    registers: [registry],
    collect() {
      this.set(sources.waiting());
    },
  });
  return registry;
}
