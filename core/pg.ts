import pg from 'pg';
import type { Logger } from './logger.ts';

/** A pg Pool with an 'error' listener (an idle client's error would otherwise crash the process). */
export function createPool(databaseUrl: string, logger: Logger, max = 10): pg.Pool {
  const pool = new pg.Pool({ connectionString: databaseUrl, max, connectionTimeoutMillis: 5_000, idleTimeoutMillis: 30_000 });
  pool.on('error', (err) => logger.warn({ err: err.message }, 'postgres idle client error'));
  return pool;
}
