import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { parse } from 'yaml';
import { CONFIG_SCHEMA, loadConfig } from '../core/config.ts';

/**
 * docker-compose.yml, the Dockerfile and the README's Docker quick start agree with each other and with
 * core/config.ts. There is no Docker engine here: `docker-compose config` (Debian's docker-compose
 * 1.29, which npm test installs) validates and resolves the file without one, and the resolved YAML is
 * what these tests read.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const read = (name: string) => readFileSync(new URL(`../${name}`, import.meta.url), 'utf8');
const JWT_SECRET = 'compose-test-secret-0123456789abcdef-0123';

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string | number | null>;
  depends_on?: Record<string, { condition?: string }>;
  healthcheck?: { test?: string[] | string };
  deploy?: { replicas?: number };
  ports?: ({ published?: number | string; target?: number } | string)[];
  volumes?: ({ source?: string; target?: string; read_only?: boolean } | string)[];
  restart?: string;
  container_name?: string;
}
interface ComposeFile {
  services: Record<string, ComposeService>;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `docker-compose -f docker-compose.yml <args>` with only PATH, HOME and the given variables. */
function compose(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(
      'docker-compose',
      ['-f', 'docker-compose.yml', ...args],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? ROOT, ...env }, maxBuffer: 8 << 20 },
      (err, stdout, stderr) => {
        if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
          reject(new Error('docker-compose is not installed: npm test installs it (apt-get install -y docker-compose); run npm test or install it by hand'));
          return;
        }
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

let resolved: Promise<Run> | undefined;
const resolvedRun = () => (resolved ??= compose(['config'], { JWT_SECRET }));
async function resolvedFile(): Promise<ComposeFile> {
  const run = await resolvedRun();
  expect(run.code, `docker-compose config failed:\n${run.stderr}`).to.equal(0);
  return parse(run.stdout) as ComposeFile;
}
async function service(name: string): Promise<ComposeService> {
  const svc = (await resolvedFile()).services[name];
  expect(svc, `service ${name}`).to.not.equal(undefined);
  return svc as ComposeService;
}

const APP_SERVICES = ['migrate', 'gateway', 'shard', 'persister'] as const;
const LONG_RUNNING = { gateway: 'PORT', shard: 'SHARD_PORT', persister: 'PERSISTER_PORT' } as const;
const SCHEMA_ENV = new Set(Object.values(CONFIG_SCHEMA).map((s) => s.env));
const healthTest = (svc: ComposeService) => [svc.healthcheck?.test ?? []].flat().join(' ');
const commandOf = (svc: ComposeService) => [svc.command ?? []].flat().join(' ');
const published = (svc: ComposeService) =>
  (svc.ports ?? []).map((p) => (typeof p === 'string' ? Number(p.split(':').at(-2)) : Number(p.published)));
/** [host path relative to the repository, container path, read-only] of each bind mount. */
const binds = (svc: ComposeService) =>
  (svc.volumes ?? [])
    .map((v) => (typeof v === 'string' ? v.split(':') : [v.source ?? '', v.target ?? '', v.read_only ? 'ro' : 'rw']))
    .filter(([source]) => source !== undefined && isAbsolute(source))
    .map(([source, target, mode]) => [relative(ROOT, source ?? ''), target, mode === 'ro']);

describe('docker-compose.yml', function () {
  this.timeout(60_000);

  it('is valid for docker-compose 1.29 (`docker-compose config` exits 0) with JWT_SECRET set', async () => {
    const run = await resolvedRun();
    expect(run.code, `docker-compose config failed:\n${run.stderr}`).to.equal(0);
    expect(run.stdout).to.match(/^services:/m);
  });

  it('refuses to resolve without JWT_SECRET, naming it (production mode requires a real secret)', async () => {
    const run = await compose(['config', '-q'], {});
    expect(run.code).to.not.equal(0);
    expect(run.stderr).to.contain('set JWT_SECRET (32+ chars)');
  });

  it('has the servers, the one-shot migrate, the three processes, Prometheus and Grafana', async () => {
    const names = Object.keys((await resolvedFile()).services).sort();
    expect(names).to.deep.equal(['gateway', 'grafana', 'kafka', 'migrate', 'persister', 'postgres', 'prometheus', 'redis', 'shard']);
  });

  it('runs two shard replicas with no fixed SHARD_ID, container name or host port (each gets its own id)', async () => {
    const shard = await service('shard');
    expect(shard.deploy?.replicas).to.equal(2);
    expect(shard.environment ?? {}).to.not.have.property('SHARD_ID');
    expect(shard.container_name).to.equal(undefined);
    expect(shard.ports ?? []).to.deep.equal([]);
  });

  for (const name of APP_SERVICES) {
    it(`${name} runs the app image (its bundle on plain node; the migrations through tsx), and only variables of core/config.ts that it accepts in production`, async () => {
      const svc = await service(name);
      expect(svc.image).to.equal('war-ticket:local');
      expect(svc.build, 'built from ./Dockerfile').to.not.equal(undefined);
      const command = {
        migrate: 'node --import tsx scripts/migrate.ts',
        gateway: 'node --enable-source-maps --max-old-space-size=512 --heap-growing-percent=100 dist/gateway.mjs',
        shard: 'node --enable-source-maps --max-old-space-size=512 dist/shards.mjs',
        persister: 'node --enable-source-maps --max-old-space-size=512 dist/persister.mjs',
      }[name];
      expect(commandOf(svc)).to.equal(command);
      const env = Object.fromEntries(Object.entries(svc.environment ?? {}).map(([k, v]) => [k, String(v ?? '')]));
      expect(Object.keys(env).filter((k) => !SCHEMA_ENV.has(k)), 'variables outside CONFIG_SCHEMA').to.deep.equal([]);
      expect(env.NODE_ENV).to.equal('production');
      expect(env.JWT_SECRET, 'JWT_SECRET comes from the host').to.equal(JWT_SECRET);
      const config = loadConfig(env); // throws ConfigError naming every bad value
      expect(config.redisUrl).to.equal('redis://redis:6379');
      expect(config.kafkaBrokers).to.deep.equal(['kafka:9092']);
      expect(new URL(config.databaseUrl).host).to.equal('postgres:5432');
    });
  }

  for (const [name, portVar] of Object.entries(LONG_RUNNING)) {
    it(`${name} has a health check on its own /ready port and restarts unless stopped`, async () => {
      const svc = await service(name);
      const port = svc.environment?.[portVar];
      expect(port, `${portVar} is set`).to.not.equal(undefined);
      expect(healthTest(svc)).to.contain(`http://127.0.0.1:${port}/ready`);
      expect(svc.restart).to.equal('unless-stopped');
    });
  }

  it('starts each process after the servers it uses are healthy, and the gateway and persister after migrate succeeded', async () => {
    const conditions = async (name: string) =>
      Object.fromEntries(Object.entries((await service(name)).depends_on ?? {}).map(([dep, d]) => [dep, d.condition]));
    expect(await conditions('migrate')).to.deep.equal({ postgres: 'service_healthy' });
    expect(await conditions('gateway')).to.deep.equal({
      redis: 'service_healthy',
      kafka: 'service_healthy',
      postgres: 'service_healthy',
      migrate: 'service_completed_successfully',
    });
    expect(await conditions('shard')).to.deep.equal({ redis: 'service_healthy', kafka: 'service_healthy' });
    expect(await conditions('persister')).to.deep.equal({
      kafka: 'service_healthy',
      postgres: 'service_healthy',
      migrate: 'service_completed_successfully',
    });
    expect((await service('migrate')).restart).to.equal('no');
  });

  it('runs Redis with AOF (fsync every second, rewritten past 1 GB) and noeviction, Kafka without topic auto-creation, each with a health check', async () => {
    const redis = await service('redis');
    expect(commandOf(redis)).to.contain('--appendonly yes').and.contain('--appendfsync everysec').and.contain('--auto-aof-rewrite-min-size 1gb').and.contain('--maxmemory-policy noeviction');
    expect(healthTest(redis)).to.contain('redis-cli ping');
    const kafka = await service('kafka');
    expect(String(kafka.environment?.KAFKA_AUTO_CREATE_TOPICS_ENABLE)).to.equal('false');
    expect(String(kafka.environment?.KAFKA_PROCESS_ROLES)).to.equal('broker,controller');
    expect(String(kafka.environment?.KAFKA_ADVERTISED_LISTENERS)).to.equal('PLAINTEXT://kafka:9092');
    expect(healthTest(kafka)).to.contain('kafka-broker-api-versions.sh --bootstrap-server localhost:9092');
    const postgres = await service('postgres');
    expect(postgres.environment).to.include({ POSTGRES_USER: 'warticket', POSTGRES_DB: 'warticket' });
    expect(healthTest(postgres)).to.contain('pg_isready');
  });

  it('publishes the gateway on 8080, Prometheus on 9090 and Grafana on 3000, and mounts dashboards/ read-only', async () => {
    expect(published(await service('gateway'))).to.deep.equal([8080]);
    const prometheus = await service('prometheus');
    const grafana = await service('grafana');
    expect(published(prometheus)).to.deep.equal([9090]);
    expect(published(grafana)).to.deep.equal([3000]);
    expect(binds(prometheus)).to.deep.equal([['dashboards/prometheus', '/etc/prometheus', true]]);
    expect(binds(grafana)).to.deep.equal([
      ['dashboards/grafana/provisioning', '/etc/grafana/provisioning', true],
      ['dashboards/grafana/dashboards', '/var/lib/grafana/dashboards', true],
    ]);
    for (const dir of ['dashboards/prometheus/prometheus.yml', 'dashboards/grafana/provisioning', 'dashboards/grafana/dashboards']) {
      expect(existsSync(new URL(`../${dir}`, import.meta.url)), `${dir} exists`).to.equal(true);
    }
    for (const name of ['redis', 'kafka', 'postgres', 'shard', 'persister', 'migrate']) expect(published(await service(name)), name).to.deep.equal([]);
  });
});

describe('Dockerfile', () => {
  const stages = read('Dockerfile').split(/^FROM /m).slice(1);
  const build = stages[0] ?? '';
  const runtime = stages.at(-1) ?? '';

  it('has a build stage that installs everything, type-checks and writes openapi.json', () => {
    expect(stages.length).to.be.at.least(2);
    expect(build).to.match(/^node:20-bookworm-slim AS build/);
    expect(build).to.match(/^RUN npm ci\b/m);
    expect(build).to.match(/^RUN npx tsc -p tsconfig\.json --noEmit/m);
    expect(build).to.match(/^RUN npm run openapi/m);
    expect(build).to.match(/^RUN npm run build$/m);
  });

  it('has a runtime stage with production dependencies only, the sources the processes load, openapi.json, as user node', () => {
    expect(runtime).to.match(/^node:20-bookworm-slim AS runtime/);
    expect(runtime).to.match(/^RUN npm ci --omit=dev\b/m);
    for (const dir of ['core', 'gateway', 'shards', 'persister', 'migrations']) expect(runtime).to.match(new RegExp(`^COPY ${dir} `, 'm'));
    expect(runtime).to.match(/^COPY scripts\/migrate\.ts scripts\/token\.ts /m);
    expect(runtime).to.match(/^COPY --from=build \/app\/openapi\.json /m);
    expect(runtime).to.match(/^COPY --from=build \/app\/dist \.\/dist$/m);
    expect(runtime).to.match(/^USER node$/m);
    expect(runtime).to.match(/^EXPOSE 8080 9101 9102$/m);
  });

  it('can run the migrations with --omit=dev: tsx is a production dependency', () => {
    const pkg = JSON.parse(read('package.json')) as { dependencies?: Record<string, string> };
    expect(pkg.dependencies).to.have.property('tsx');
  });

  it('.dockerignore keeps node_modules, .git and local state out of the build context', () => {
    const ignored = read('.dockerignore').split('\n').map((l) => l.trim());
    for (const entry of ['node_modules', '.git', '.cache', 'dist', '*.log', '.env']) expect(ignored).to.include(entry);
  });
});

describe("the README's Docker quick start", () => {
  const readme = read('README.md');
  const section = readme.split(/^## /m).find((s) => s.startsWith('Docker quick start\n')) ?? '';

  it('comes right after "The two commands"', () => {
    const titles: string[] = readme.match(/^## .*$/gm) ?? [];
    expect(titles.indexOf('## Docker quick start')).to.equal(titles.indexOf('## The two commands') + 1);
  });

  it('starts the stack with JWT_SECRET set and names the published ports and Swagger', () => {
    expect(section).to.match(/^export JWT_SECRET=/m);
    expect(section).to.match(/^docker[ -]compose up\b/m);
    for (const url of ['http://localhost:8080', 'http://localhost:9090', 'http://localhost:3000', 'http://localhost:8080/swagger/index.html']) {
      expect(section).to.contain(url);
    }
  });

  it('names only services of docker-compose.yml, and every variable the compose file reads from the host', async () => {
    const services = Object.keys((await resolvedFile()).services);
    const named = [...section.matchAll(/docker[ -]compose (?:exec(?: -T)?|logs(?: -f)?|restart|ps) ([a-z-]+)/g)].map((m) => m[1]);
    expect(named).to.not.be.empty;
    for (const name of named) expect(services, `README names service ${name}`).to.include(name);
    const fromHost = new Set([...read('docker-compose.yml').matchAll(/\$\{([A-Z_]+)/g)].map((m) => m[1]));
    for (const name of fromHost) expect(section, `README mentions ${name}`).to.contain(`\`${name}\``);
    expect(section).to.not.match(/docker[ -]compose -f (?!docker-compose\.yml)/);
  });

  it('mints the admin token inside the gateway with scripts/token.ts, which the image ships', () => {
    expect(section).to.contain('docker compose exec -T gateway node --import tsx scripts/token.ts --role=admin');
    expect(existsSync(new URL('../scripts/token.ts', import.meta.url))).to.equal(true);
  });
});
