// One study session as a picture: the ops, each path's requests, and when the LTE radio is on.
import { writeFile } from 'node:fs/promises';
import type { Interval } from './radio.ts';

export type TimelineRow = { label: string; requests: Interval[]; radioOn: Interval[] };

/** Writes an SVG: a tick per op at the top, then per path its requests and its radio-on spans. */
export async function writeTimeline(file: string, title: string, opsAtMs: number[], rows: TimelineRow[], endMs: number): Promise<void> {
  const width = 1000;
  const left = 150;
  const plot = width - left - 20;
  const x = (ms: number) => left + (Math.max(0, Math.min(ms, endMs)) / endMs) * plot;
  const rowHeight = 46;
  const height = 70 + rows.length * rowHeight + 40;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="100%" height="100%" fill="white"/>`);
  parts.push(`<text x="10" y="18" font-size="14" font-weight="bold">${escape(title)}</text>`);
  parts.push(`<text x="10" y="48">ops (${opsAtMs.length})</text>`);
  for (const at of opsAtMs) parts.push(`<line x1="${x(at).toFixed(1)}" y1="36" x2="${x(at).toFixed(1)}" y2="52" stroke="#333"/>`);
  rows.forEach((row, i) => {
    const y = 70 + i * rowHeight;
    parts.push(`<text x="10" y="${y + 12}">${escape(row.label)}</text>`);
    parts.push(`<text x="10" y="${y + 30}" fill="#888">radio on (LTE)</text>`);
    for (const r of row.requests) {
      const w = Math.max(1.5, x(r.endMs) - x(r.startMs));
      parts.push(`<rect x="${x(r.startMs).toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="16" fill="#1f77b4"/>`);
    }
    for (const on of row.radioOn) {
      parts.push(`<rect x="${x(on.startMs).toFixed(1)}" y="${y + 20}" width="${Math.max(1, x(on.endMs) - x(on.startMs)).toFixed(1)}" height="12" fill="#ff7f0e" opacity="0.7"/>`);
    }
  });
  const axisY = 70 + rows.length * rowHeight + 5;
  parts.push(`<line x1="${left}" y1="${axisY}" x2="${left + plot}" y2="${axisY}" stroke="#333"/>`);
  for (let s = 0; s * 1000 <= endMs; s += 60) {
    parts.push(`<line x1="${x(s * 1000).toFixed(1)}" y1="${axisY}" x2="${x(s * 1000).toFixed(1)}" y2="${axisY + 5}" stroke="#333"/>`);
    parts.push(`<text x="${x(s * 1000).toFixed(1)}" y="${axisY + 18}" text-anchor="middle">${s} s</text>`);
  }
  parts.push(`<text x="${left}" y="${axisY + 34}" fill="#555">blue: requests; orange: the LTE radio on (promotion, transfer, 10.1 s tail)</text>`);
  parts.push('</svg>');
  await writeFile(file, `${parts.join('\n')}\n`);
}

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
