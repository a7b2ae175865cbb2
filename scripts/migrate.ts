/**
 * Applies the migrations in migrations/ (node-pg-migrate, forward only) to DATABASE_URL.
 *   npm run migrate
 */
import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import { loadConfig } from '../core/config.ts';

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
  await migrate(config.databaseUrl, (msg) => console.log(`[migrate] ${msg}`));
}
