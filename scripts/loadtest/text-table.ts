/** Plain-text tables for the driver's report: columns padded, numbers right-aligned. */

export type Cell = string | number | null | undefined;

/** A number as people read it: integers as they are, others to at most 4 decimals; null/undefined as '–'. */
export function cell(value: Cell): string {
  if (value === null || value === undefined) return '–';
  if (typeof value === 'string') return value;
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return String(value);
  return String(Math.round(value * 10_000) / 10_000);
}

/** Milliseconds with one decimal below 100 ms, whole above. */
export const ms = (value: number | null | undefined): string =>
  value === null || value === undefined ? '–' : value < 100 ? value.toFixed(1) : Math.round(value).toString();

export function table(header: readonly string[], rows: readonly (readonly Cell[])[], indent = '  '): string {
  const text = rows.map((r) => r.map(cell));
  const widths = header.map((h, i) => Math.max(h.length, ...text.map((r) => (r[i] ?? '').length)));
  const isNumeric = header.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number' || r[i] === null || r[i] === undefined || /^[\d.,–-]+( ms)?$/.test(cell(r[i]))));
  const line = (cells: readonly string[]) =>
    indent + cells.map((c, i) => (i > 0 && isNumeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...text.map(line)].join('\n');
}
