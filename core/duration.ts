/**
 * Parses a duration such as `1500ms`, `30s`, `5m` or `1h` into milliseconds. A bare number is taken as
 * milliseconds. Returns undefined for anything else, so config loading can name the bad key.
 */
export function parseDurationMs(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!match) return undefined;
  const value = Number(match[1]);
  const unitMs = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(match[2] ?? 'ms') as 'ms' | 's' | 'm' | 'h'];
  const ms = Math.round(value * unitMs);
  return Number.isSafeInteger(ms) ? ms : undefined;
}
