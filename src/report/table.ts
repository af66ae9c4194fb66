// Plain-text tables for people (CLI summaries, the bench summary). Numbers right-aligned, text left-aligned.

export type Cell = string | number;

export function table(header: string[], rows: Cell[][], indent = '  '): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number' || /^[-+]?[0-9.,]+(\s?\S+)?$/.test(String(r[i]))));
  const line = (r: string[]): string =>
    indent +
    r
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...cells.slice(1).map(line)].join('\n') + '\n';
}

/** "key   value" lines with the keys aligned. */
export function keyValues(pairs: [string, string][], indent = '  '): string {
  const w = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${indent}${k.padEnd(w)}  ${v}`).join('\n') + '\n';
}
