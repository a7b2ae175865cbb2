/**
 * Runs `task` every `intervalMs` (the next run starts `intervalMs` after the previous one ended, so
 * runs never overlap), reporting failures to `onError` and carrying on. close() stops the timer and
 * waits for a run in progress.
 */
export function runEvery(intervalMs: number, task: () => Promise<unknown>, onError: (err: unknown) => void, firstDelayMs = intervalMs): { close(): Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  let isClosed = false;
  let running: Promise<unknown> = Promise.resolve();
  const loop = () => {
    running = task()
      .catch(onError)
      .finally(() => {
        if (!isClosed) timer = setTimeout(loop, intervalMs);
      });
  };
  timer = setTimeout(loop, firstDelayMs);
  return {
    async close() {
      isClosed = true;
      clearTimeout(timer);
      await running;
    },
  };
}
