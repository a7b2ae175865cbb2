/** Wraps an async close so that calling it again returns the first call's promise (closing twice is safe). */
export function once(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= fn());
}
