/**
 * Creates DATABASE_URL's database if it does not exist (its role needs CREATEDB, which scripts/infra.sh
 * grants), then applies the migrations in migrations/ (node-pg-migrate, forward only).
 *   npm run migrate
 */
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { runner } from 'node-pg-migrate';
import { loadConfig } from '../core/config.ts';

export async function ensureDatabase(databaseUrl: string, log: (msg: string) => void = () => {}): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) {
      await client.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
      log(`created database ${name}`);
    }
  } finally {
    await client.end();
  }
}

export async function migrate(databaseUrl: string, log: (msg: string) => void = () => {}): Promise<void> {
  await runner({
    databaseUrl,
    dir: fileURLToPath(new URL('../migrations/', import.meta.url)),
    migrationsTable: 'pgmigrations',
    direction: 'up',
    count: Infinity,
    singleTransaction: true,
    checkOrder: true,
    log,
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const config = loadConfig();
  await ensureDatabase(config.databaseUrl, (msg) => console.log(`[migrate] ${msg}`));
  await migrate(config.databaseUrl, (msg) => console.log(`[migrate] ${msg}`));
}
