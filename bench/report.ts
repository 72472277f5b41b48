/**
 * The report writer of every bench: a Markdown page of tables, the machine it
 * ran on, the targets with PASS or FAIL, and files beside the page (the raw
 * figures as JSON, a chart of the targets as SVG). Whatever follows
 * KEEP_BELOW in the page it replaces, an analysis written by hand, is kept.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, type as osType } from 'node:os';
import path from 'node:path';

export const KEEP_BELOW = '<!-- written by hand below this line; npm run bench keeps it -->';

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly os: string;
  /** 1-minute load average when the run began and ended: was anything else busy? */
  readonly loadAtStart: number;
  loadAtEnd?: number;
}

export const describeMachine = (): Machine => ({
  cpu: cpus()[0]?.model.trim() ?? 'unknown',
  cores: cpus().length,
  memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
  node: process.version,
  os: `${osType()} ${release()}`,
  loadAtStart: Math.round(loadavg()[0]! * 100) / 100,
});

export const machineTable = (m: Machine): string[] =>
  table([
    ['cpu', 'cores', 'memory', 'node', 'os', 'load average (1 min) at start → end'],
    [m.cpu, String(m.cores), `${m.memoryGiB} GiB`, m.node, m.os, `${m.loadAtStart} → ${m.loadAtEnd ?? '?'}`],
  ]);

export const fixed = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** A Markdown table, the first row its head. */
export const table = (rows: readonly (readonly string[])[]): string[] => [
  `| ${rows[0]!.join(' | ')} |`,
  `|${rows[0]!.map(() => '---').join('|')}|`,
  ...rows.slice(1).map((row) => `| ${row.join(' | ')} |`),
];

export interface Target {
  readonly name: string;
  /** The name on the chart. */
  readonly short: string;
  readonly target: string;
  readonly measured: string;
  readonly ratio: number;
  readonly threshold: number;
  /** The ratio must reach the threshold (else stay at or below it). */
  readonly atLeast: boolean;
  readonly pass: boolean;
}

export const checkTarget = (t: Omit<Target, 'pass'>): Target => ({ ...t, pass: t.atLeast ? t.ratio >= t.threshold : t.ratio <= t.threshold });

export const targetTable = (targets: readonly Target[]): string[] =>
  table([['what', 'target', 'measured', 'result'], ...targets.map((t) => [t.name, t.target, t.measured, t.pass ? '**PASS**' : '**FAIL**'])]);

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** One bar a target, its measured ratio, with a line at its threshold; each row on its own scale. */
export const targetChart = (targets: readonly Target[]): string => {
  const [width, rowHeight, left, right] = [760, 40, 230, 130];
  const span = width - left - right;
  const rows = targets.map((t, i) => {
    const scale = span / (1.15 * Math.max(t.ratio, t.threshold));
    const y = 30 + i * rowHeight;
    const at = (left + t.threshold * scale).toFixed(1);
    return [
      `<text x="${left - 8}" y="${y + 17}" text-anchor="end">${escapeXml(t.short)}</text>`,
      `<rect x="${left}" y="${y + 4}" width="${(t.ratio * scale).toFixed(1)}" height="20" fill="${t.pass ? '#3a8f4b' : '#c0392b'}"/>`,
      `<line x1="${at}" x2="${at}" y1="${y}" y2="${y + 28}" stroke="#222" stroke-width="2"/>`,
      `<text x="${width - right + 8}" y="${y + 17}">${escapeXml(`${fixed(t.ratio, 2)} (${t.atLeast ? '≥' : '≤'} ${t.threshold})`)}</text>`,
    ].join('');
  });
  const height = 40 + targets.length * rowHeight;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="13">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${left}" y="18">measured ratio (bar; green: pass) and its threshold (line)</text>`,
    ...rows,
    '</svg>',
    '',
  ].join('\n');
};

/**
 * Write `body` to `file`, and each of `beside` (name → text) into its folder.
 * With `keep`, the page ends with KEEP_BELOW and what followed it in the page replaced.
 */
export const writeReport = (file: string, body: string, options: { keep?: boolean; beside?: Record<string, string> } = {}): void => {
  let kept = '';
  if (options.keep) {
    try {
      const existing = readFileSync(file, 'utf8');
      const at = existing.indexOf(KEEP_BELOW);
      if (at >= 0) kept = existing.slice(at + KEEP_BELOW.length).replace(/^\n/, '');
    } catch {
      // no page yet: nothing to keep
    }
  }
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, options.keep ? `${body}\n${KEEP_BELOW}\n${kept}` : body);
  for (const [name, text] of Object.entries(options.beside ?? {})) writeFileSync(path.join(path.dirname(file), name), text);
};
