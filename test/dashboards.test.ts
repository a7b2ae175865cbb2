import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { parse, stringify } from 'yaml';

/**
 * dashboards/: the Prometheus config and alert rules pass promtool (config, rules, and the rules' unit
 * tests), the Grafana provisioning points at the files Compose mounts, and every query of a dashboard
 * or an alert selects only metrics the processes export (the list below), so the dashboards cannot
 * drift from the code unnoticed.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIR = join(ROOT, 'dashboards');
const DATASOURCE = { type: 'prometheus', uid: 'prometheus' };

// What the processes export (gateway/metrics.ts, shards/metrics.ts, persister/metrics.ts, core/ops-server.ts).
const HISTOGRAMS = [
  'wt_http_request_duration_seconds', 'wt_admission_to_decision_seconds', 'wt_kafka_produce_seconds',
  'wt_persister_batch_size', 'wt_persister_write_seconds',
];
const SERIES = [
  // gateway
  'wt_admissions_total', 'wt_rate_limited_total', 'wt_gateway_long_polls_waiting', 'wt_category_available',
  // shard
  'wt_shard_owned_events', 'wt_events_unowned', 'wt_shard_live_workers', 'wt_queue_depth', 'wt_queue_max_depth',
  'wt_queue_oldest_wait_seconds', 'wt_holds_active', 'wt_decisions_total', 'wt_expiries_total',
  'wt_shard_fenced_jobs_total', 'wt_outbox_backlog', 'wt_outbox_published_total', 'wt_kafka_produce_errors_total',
  'wt_redis_used_memory_bytes', 'wt_redis_maxmemory_bytes',
  // persister
  'wt_persister_lag_seconds', 'wt_persister_records_total', 'wt_persister_dead_letters_total',
  // every process, and Prometheus itself
  'wt_ready', 'up',
];
const histogramSeries = (name: string) => [`${name}_bucket`, `${name}_sum`, `${name}_count`];

/** prom-client's default metrics (nodejs_*, process_*), which every process registers, from prom-client itself. */
async function defaultMetricNames(): Promise<string[]> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const metrics = await registry.getMetricsAsJSON();
  registry.clear();
  return metrics.flatMap((m) => (String(m.type) === 'histogram' ? histogramSeries(m.name) : [m.name]));
}

const PROMQL_KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'atan2', 'inf', 'nan']);

/**
 * The metric names a PromQL expression selects: identifiers that are not functions or aggregations
 * (followed by `(`), keywords, label names (in `{...}` and in `by (...)`-like lists), durations,
 * numbers or Grafana variables (`$event_id`, `$__rate_interval`).
 */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/(?<![\w:.$])[a-zA-Z_:][\w:]*(?!\s*\()/g)) {
    // the lookahead also stops a function name short (`rat` of `rate(`): skip identifiers cut that way
    const end = m.index + m[0].length;
    if (/^[\w:]/.test(stripped.slice(end))) continue;
    if (!PROMQL_KEYWORDS.has(m[0].toLowerCase())) names.add(m[0]);
  }
  return [...names];
}

const execFileAsync = promisify(execFile);

/** Runs promtool from the repository root; fails with its output, or says how to install it. */
async function promtool(...args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await execFileAsync('promtool', args, { cwd: ROOT });
    return `${stdout}${stderr}`;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') {
      throw new Error("promtool is not installed: it comes with Debian's package prometheus (apt-get install prometheus; npm test installs it)");
    }
    throw new Error(`promtool ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

const readYaml = (path: string) => parse(readFileSync(join(DIR, path), 'utf8')) as unknown;

interface Rule { alert: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }
interface Target { refId: string; expr: string; datasource?: unknown }
interface Panel { id: number; type: string; title: string; datasource?: unknown; gridPos: { x: number; y: number; w: number; h: number }; targets?: Target[] }
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: { name: string; datasource?: unknown; definition?: string; query?: { query?: string } }[] };
}

const rules = () => (readYaml('prometheus/alerts.yml') as { groups: { name: string; rules: Rule[] }[] }).groups.flatMap((g) => g.rules);
const DASHBOARD_FILES = ['ticket-war.json', 'shards.json', 'pipeline.json'];
const dashboards = () =>
  readdirSync(join(DIR, 'grafana/dashboards')).filter((f) => f.endsWith('.json')).sort()
    .map((file) => ({ file, dashboard: JSON.parse(readFileSync(join(DIR, 'grafana/dashboards', file), 'utf8')) as Dashboard }));
const queryPanels = (d: Dashboard) => d.panels.filter((p) => p.type !== 'row');

describe('dashboards and alerts', () => {
  let allowed: Set<string>;
  before(async () => {
    allowed = new Set([...SERIES, ...HISTOGRAMS.flatMap(histogramSeries), ...(await defaultMetricNames())]);
  });

  describe('promtool', () => {
    it('promtool check config accepts prometheus.yml and the rule file it loads', async () => {
      const out = await promtool('check', 'config', 'dashboards/prometheus/prometheus.yml');
      expect(out).to.match(/SUCCESS: 1 rule files found/);
    });

    it('promtool check rules accepts alerts.yml', async () => {
      const out = await promtool('check', 'rules', 'dashboards/prometheus/alerts.yml');
      expect(out).to.include(`SUCCESS: ${rules().length} rules found`);
    });

    it('every alert passes its unit tests (promtool test rules alerts.test.yml)', async () => {
      expect(await promtool('test', 'rules', 'dashboards/prometheus/alerts.test.yml')).to.include('SUCCESS');
    });

    it('every dashboard query is valid PromQL (promtool check rules on a rule file made of them)', async () => {
      const records = dashboards().flatMap(({ dashboard }) =>
        queryPanels(dashboard).flatMap((p) => (p.targets ?? []).map((t) => ({ record: `dashboard:${dashboard.uid.replaceAll('-', '_')}:panel${p.id}_${t.refId}`, expr: t.expr }))));
      expect(records.length).to.be.greaterThan(30);
      const dir = mkdtempSync(join(tmpdir(), 'wt-dashboards-'));
      try {
        writeFileSync(join(dir, 'queries.yml'), stringify({ groups: [{ name: 'dashboard-queries', rules: records }] }));
        expect(await promtool('check', 'rules', join(dir, 'queries.yml'))).to.include(`SUCCESS: ${records.length} rules found`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('Prometheus', () => {
    it('scrapes the gateway, every shard replica (DNS A records) and the persister every 5 s, and loads alerts.yml', () => {
      const config = readYaml('prometheus/prometheus.yml') as {
        global: { scrape_interval: string };
        rule_files: string[];
        scrape_configs: { job_name: string; metrics_path?: string; static_configs?: { targets: string[] }[]; dns_sd_configs?: { names: string[]; type: string; port: number }[] }[];
      };
      expect(config.global.scrape_interval).to.equal('5s');
      expect(config.rule_files).to.deep.equal(['alerts.yml']);
      const jobs = Object.fromEntries(config.scrape_configs.map((s) => [s.job_name, s]));
      expect(Object.keys(jobs).sort()).to.deep.equal(['gateway', 'persister', 'shard']);
      expect(jobs.gateway?.static_configs).to.deep.equal([{ targets: ['gateway:8080'] }]);
      expect(jobs.shard?.dns_sd_configs).to.deep.include({ names: ['shard'], type: 'A', port: 9101, refresh_interval: '15s' });
      expect(jobs.persister?.static_configs).to.deep.equal([{ targets: ['persister:9102'] }]);
      for (const job of Object.values(jobs)) expect(job.metrics_path ?? '/metrics').to.equal('/metrics');
    });

    it('every alert waits (for:), has a severity, and a summary and a description naming its runbook entry in docs/operations.md', () => {
      const operations = readFileSync(join(ROOT, 'docs/operations.md'), 'utf8');
      expect(operations, 'docs/operations.md has a section "## Dashboards and alerts"').to.include('\n## Dashboards and alerts\n');
      const section = operations.slice(operations.indexOf('\n## Dashboards and alerts\n'));
      for (const rule of rules()) {
        expect(rule.for, rule.alert).to.match(/^\d+[smh]$/);
        expect(rule.labels?.severity, rule.alert).to.be.oneOf(['warning', 'critical']);
        expect(rule.annotations?.summary, rule.alert).to.be.a('string').and.not.empty;
        expect(rule.annotations?.description, rule.alert).to.include(`Runbook: docs/operations.md, "Dashboards and alerts", ${rule.alert}.`);
        expect(section, `runbook entry for ${rule.alert}`).to.match(new RegExp(`^#### ${rule.alert}$`, 'm'));
      }
    });

    it('every alert has a unit test where it fires and one where it does not', () => {
      const tests = (readYaml('prometheus/alerts.test.yml') as { tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[] }).tests
        .flatMap((t) => t.alert_rule_test ?? []);
      for (const { alert } of rules()) {
        const cases = tests.filter((t) => t.alertname === alert);
        expect(cases.some((t) => (t.exp_alerts ?? []).length > 0), `${alert} fires in some test`).to.equal(true);
        expect(cases.some((t) => (t.exp_alerts ?? []).length === 0), `${alert} stays quiet in some test`).to.equal(true);
      }
    });

    it('alert expressions select only metrics the processes export', () => {
      for (const rule of rules()) {
        const names = metricNames(rule.expr);
        expect(names, rule.alert).to.not.be.empty;
        expect(names.filter((n) => !allowed.has(n)), `${rule.alert}: ${rule.expr}`).to.deep.equal([]);
      }
    });
  });

  describe('Grafana', () => {
    it('provisions the default datasource Prometheus (uid prometheus) at http://prometheus:9090', () => {
      const { apiVersion, datasources } = readYaml('grafana/provisioning/datasources/prometheus.yml') as { apiVersion: number; datasources: Record<string, unknown>[] };
      expect(apiVersion).to.equal(1);
      expect(datasources).to.have.length(1);
      expect(datasources[0]).to.include({ name: 'Prometheus', type: 'prometheus', uid: DATASOURCE.uid, url: 'http://prometheus:9090', isDefault: true });
    });

    it('provisions the JSON dashboards of /var/lib/grafana/dashboards into the folder war-ticket', () => {
      const { apiVersion, providers } = readYaml('grafana/provisioning/dashboards/dashboards.yml') as { apiVersion: number; providers: { folder: string; type: string; options: { path: string } }[] };
      expect(apiVersion).to.equal(1);
      expect(providers).to.have.length(1);
      expect(providers[0]).to.include({ folder: 'war-ticket', type: 'file' });
      expect(providers[0]?.options.path).to.equal('/var/lib/grafana/dashboards');
    });

    it('the three dashboards parse, each with its own uid, a title, schemaVersion 39 and panels with unique ids inside the 24-column grid', () => {
      const all = dashboards();
      expect(all.map((d) => d.file)).to.deep.equal([...DASHBOARD_FILES].sort());
      expect(new Set(all.map((d) => d.dashboard.uid)).size).to.equal(all.length);
      for (const { file, dashboard } of all) {
        expect(dashboard.uid, file).to.be.a('string').and.match(/^[\w-]{1,40}$/);
        expect(dashboard.title, file).to.be.a('string').and.not.empty;
        expect(dashboard.schemaVersion, file).to.equal(39);
        expect(queryPanels(dashboard), file).to.have.length.greaterThan(5);
        expect(new Set(dashboard.panels.map((p) => p.id)).size, `${file}: panel ids`).to.equal(dashboard.panels.length);
        for (const p of dashboard.panels) expect(p.gridPos.x + p.gridPos.w, `${file}: ${p.title}`).to.be.at.most(24);
      }
    });

    it('every panel and query uses the provisioned Prometheus datasource, and every query has an expression', () => {
      for (const { file, dashboard } of dashboards()) {
        for (const p of queryPanels(dashboard)) {
          expect(p.datasource, `${file}: ${p.title}`).to.deep.equal(DATASOURCE);
          expect(p.targets, `${file}: ${p.title}`).to.be.an('array').and.not.empty;
          for (const t of p.targets ?? []) {
            expect(t.datasource, `${file}: ${p.title} ${t.refId}`).to.deep.equal(DATASOURCE);
            expect(t.expr, `${file}: ${p.title} ${t.refId}`).to.be.a('string').and.not.empty;
          }
        }
        for (const v of dashboard.templating.list) expect(v.datasource, `${file}: variable ${v.name}`).to.deep.equal(DATASOURCE);
      }
    });

    it('dashboard queries and variables select only metrics the processes export', () => {
      for (const { file, dashboard } of dashboards()) {
        for (const p of queryPanels(dashboard)) {
          for (const t of p.targets ?? []) {
            const names = metricNames(t.expr);
            expect(names, `${file}: ${p.title}: ${t.expr}`).to.not.be.empty;
            expect(names.filter((n) => !allowed.has(n)), `${file}: ${p.title}: ${t.expr}`).to.deep.equal([]);
          }
        }
        for (const v of dashboard.templating.list) {
          const metric = /^label_values\(([\w:]+),\s*\w+\)$/.exec(v.query?.query ?? '')?.[1];
          expect(metric, `${file}: variable ${v.name}`).to.be.a('string');
          expect(allowed.has(metric ?? ''), `${file}: variable ${v.name}: ${metric}`).to.equal(true);
        }
      }
    });

    it('a query uses only the template variables its dashboard defines', () => {
      for (const { file, dashboard } of dashboards()) {
        const defined = new Set(dashboard.templating.list.map((v) => v.name));
        for (const p of queryPanels(dashboard)) {
          for (const t of p.targets ?? []) {
            for (const [, name] of t.expr.matchAll(/\$\{?(\w+)/g)) {
              if (!name!.startsWith('__')) expect(defined.has(name!), `${file}: ${p.title}: $${name} is not a variable of the dashboard`).to.equal(true);
            }
          }
        }
      }
    });

    it('the overview dashboard has the panels of a ticket war', () => {
      const overview = dashboards().find((d) => d.file === 'ticket-war.json')!.dashboard;
      const exprs = queryPanels(overview).flatMap((p) => (p.targets ?? []).map((t) => t.expr)).join('\n');
      for (const metric of [
        'wt_admissions_total', 'wt_rate_limited_total', 'wt_queue_depth', 'wt_queue_max_depth', 'wt_queue_oldest_wait_seconds',
        'wt_admission_to_decision_seconds_bucket', 'wt_decisions_total', 'wt_holds_active', 'wt_expiries_total', 'wt_category_available',
        'wt_http_request_duration_seconds_bucket', 'wt_gateway_long_polls_waiting',
      ]) expect(exprs, metric).to.include(metric);
    });
  });

  describe('the metric-name extractor', () => {
    it('finds the selected metrics and skips functions, label names, keywords, numbers, durations and Grafana variables', () => {
      expect(metricNames('max by (event_id) (wt_queue_depth{event_id=~"$event_id"} / (wt_queue_max_depth > 0)) > 0.8'))
        .to.deep.equal(['wt_queue_depth', 'wt_queue_max_depth']);
      expect(metricNames('histogram_quantile(0.99, sum by (le, route) (rate(wt_http_request_duration_seconds_bucket[$__rate_interval])))'))
        .to.deep.equal(['wt_http_request_duration_seconds_bucket']);
      expect(metricNames('sum(rate(a_total[1m] offset 5m)) without (instance) > bool 1e3 and on (job) up unless absent(b{x="rate(c)"})'))
        .to.deep.equal(['a_total', 'up', 'b']);
      expect(metricNames('deriv(max by (event_id) (wt_outbox_backlog)[5m:]) > 0')).to.deep.equal(['wt_outbox_backlog']);
    });

    it('reports a metric name that drifted from the code', () => {
      const names = metricNames('sum by (outcome) (rate(wt_admission_total[1m]))');
      expect(names.filter((n) => !allowed.has(n))).to.deep.equal(['wt_admission_total']);
    });
  });
});
