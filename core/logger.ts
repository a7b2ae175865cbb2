import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON logs to stdout; `name` is the process (gateway, shard, persister). */
export function createLogger(name: string, level: string): Logger {
  return pino({ name, level, base: { process: name }, timestamp: pino.stdTimeFunctions.isoTime });
}
