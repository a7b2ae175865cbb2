import { pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { IS_BUNDLED, projectPath } from '../paths.ts';
import type { FairnessReport } from './report.ts';
import type { FairnessTask } from './worker.ts';

export interface FairnessReportsOptions {
  /** worker threads computing reports at once (default 1: a report is a heavy, rare request) */
  readonly maxThreads?: number;
  /** reports waiting for a thread before a request is refused (default 4) */
  readonly maxQueue?: number;
}

/** Refused because `maxQueue` reports are already waiting. */
export class FairnessQueueFullError extends Error {}

/**
 * Computes fairness reports in piscina worker threads (core/fairness/worker.ts). The threads start on
 * the first report and stop when idle; close() ends them.
 */
export class FairnessReports {
  readonly #pool: Piscina<FairnessTask, FairnessReport | null>;
  readonly #databaseUrl: string;

  constructor(databaseUrl: string, options: FairnessReportsOptions = {}) {
    this.#databaseUrl = databaseUrl;
    this.#pool = new Piscina({
      // From a bundle (npm run build), the worker's own bundle: plain node cannot load the .ts source.
      filename: IS_BUNDLED ? pathToFileURL(projectPath('dist', 'fairness-worker.mjs')).href : new URL('./worker.ts', import.meta.url).href,
      minThreads: 0,
      maxThreads: options.maxThreads ?? 1,
      maxQueue: options.maxQueue ?? 4,
      idleTimeout: 30_000,
    });
  }

  /** The report of `eventId`, or null when there is no such event. */
  async report(eventId: string): Promise<FairnessReport | null> {
    if (this.#pool.queueSize >= this.#pool.options.maxQueue) throw new FairnessQueueFullError('fairness reports are busy');
    return this.#pool.run({ databaseUrl: this.#databaseUrl, eventId });
  }

  async close(): Promise<void> {
    await this.#pool.destroy();
  }
}
