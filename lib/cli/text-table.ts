// A plain-text table: first column left-aligned, numbers right-aligned, two spaces apart.

import type { Table } from './summary.js';

export function textTable({ header, rows }: Table): string {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((row) => [...(row[c] ?? '')].length)));
  const pad = (cell: string, c: number): string => {
    const gap = ' '.repeat(widths[c]! - [...cell].length);
    return c === 0 ? cell + gap : gap + cell;
  };
  return all.map((row) => row.map(pad).join('  ').trimEnd()).join('\n');
}
