import pg from 'pg';
import { computeFairnessReport } from './source.ts';
import type { FairnessReport } from './report.ts';

/**
 * The piscina task: computes one event's fairness report in a worker thread, on a connection of its
 * own (closed after the task), so the calling process's event loop never runs the computation.
 */
export interface FairnessTask {
  readonly databaseUrl: string;
  readonly eventId: string;
}

export default async function fairnessTask(task: FairnessTask): Promise<FairnessReport | null> {
  const client = new pg.Client({ connectionString: task.databaseUrl, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return (await computeFairnessReport(client, task.eventId)) ?? null;
  } finally {
    await client.end();
  }
}
