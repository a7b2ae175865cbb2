import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { CONFIG_SCHEMA, type Config } from '../../core/config.ts';
import { waitFor } from './env.ts';

/** The environment that makes a process's loadConfig() return `config` (the reverse of config loading). */
export function configToEnv(config: Config): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, spec] of Object.entries(CONFIG_SCHEMA)) {
    const value = (config as unknown as Record<string, unknown>)[key];
    if (value === undefined) continue;
    const isDuration = key.endsWith('Ms');
    env[spec.env] = Array.isArray(value) ? value.join(',') : isDuration ? `${String(value)}ms` : String(value);
  }
  return env;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface SpawnedProcess {
  readonly port: number;
  readonly child: ChildProcess;
  /** SIGTERM, then wait for the exit. */
  stop(): Promise<void>;
}

/** The bundle `npm run build` makes of each process's main.ts (scripts/build.ts). */
const BUNDLE_OF: Record<string, string> = { 'gateway/main.ts': 'gateway', 'shards/main.ts': 'shards', 'persister/main.ts': 'persister' };
/** Node flags a process's bundle runs with besides the heap limit, as docker-compose.yml gives them. */
const NODE_FLAGS_OF: Record<string, string[]> = { 'gateway/main.ts': ['--heap-growing-percent=100'] };

/**
 * Runs one of the project's processes (`gateway/main.ts`, …) as its own OS process with `config`,
 * on a free port, and waits until its /ready answers 200: its sources through tsx, or with `built`
 * its bundle in dist/ on plain node with the heap flags production gives it (`npm run build` first).
 */
export async function spawnProcess(entry: string, config: Config, portKey: 'port' | 'shardPort' | 'persisterPort', options: { built?: boolean } = {}): Promise<SpawnedProcess> {
  const port = await freePort();
  const env = { ...process.env, ...configToEnv({ ...config, [portKey]: port } as Config) };
  const root = new URL('../../', import.meta.url);
  const args = options.built
    ? ['--enable-source-maps', '--max-old-space-size=512', ...(NODE_FLAGS_OF[entry] ?? []), new URL(`dist/${BUNDLE_OF[entry] ?? entry}.mjs`, root).pathname]
    : ['--import', 'tsx', new URL(entry, root).pathname];
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitFor(`${entry} to be ready`, async () => {
    if (child.exitCode !== null) throw new Error(`${entry} exited with ${child.exitCode}`);
    const res = await fetch(`http://127.0.0.1:${port}/ready`).catch(() => undefined);
    return res?.status === 200 || undefined;
  }, 30_000);
  return {
    port,
    child,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
