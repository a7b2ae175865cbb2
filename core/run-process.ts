import { ConfigError, loadConfig, type Config } from './config.ts';
import { createLogger, type Logger } from './logger.ts';

interface Closable {
  close(): Promise<void>;
}

/**
 * The life of a process's main.ts: load and validate the config once, start, and on SIGTERM/SIGINT stop
 * intake, drain, close and exit 0. An unexpected error is a bug: logged at fatal, then the process
 * closes what it can and exits non-zero so the supervisor restarts it (jobs are re-run idempotently).
 */
export async function runProcess(name: string, start: (config: Config, logger: Logger) => Promise<Closable>): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${name}: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(name, config.logLevel);

  let running: Closable | undefined;
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => process.exit(code || 1), 15_000);
    force.unref();
    try {
      await running?.close();
    } catch (err) {
      logger.error({ err }, 'error while closing');
    }
    logger.info('stopped');
    process.exit(code);
  };
  process.on('SIGTERM', () => void stop(0));
  process.on('SIGINT', () => void stop(0));
  process.on('uncaughtException', (err) => { logger.fatal({ err }, 'uncaught exception'); void stop(1); });
  process.on('unhandledRejection', (err) => { logger.fatal({ err }, 'unhandled rejection'); void stop(1); });

  try {
    running = await start(config, logger);
  } catch (err) {
    logger.fatal({ err }, 'failed to start');
    await stop(1);
  }
}
