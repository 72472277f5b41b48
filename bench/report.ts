/** Every bench's report: a Markdown page of tables, files beside it, and a hand-written part below KEEP_BELOW that a new run keeps. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, type as osType } from 'node:os';
import path from 'node:path';

export const KEEP_BELOW = '<!-- written by hand below this line; npm run bench keeps it -->';

export const describeMachine = () => ({
  cpu: cpus()[0]?.model.trim() ?? 'unknown', cores: cpus().length, memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
  node: process.version, os: `${osType()} ${release()}`,
  /** 1-minute load average when the run began and ended: was anything else busy? */
  loadAtStart: Math.round(loadavg()[0]! * 100) / 100,
  loadAtEnd: undefined as number | undefined,
});
export type Machine = ReturnType<typeof describeMachine>;

export const fixed = (n: number, digits = 0): string => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export const table = (rows: readonly (readonly string[])[]): string[] =>
  [rows[0]!, rows[0]!.map(() => '---'), ...rows.slice(1)].map((row, i) => (i === 1 ? `|${row.join('|')}|` : `| ${row.join(' | ')} |`));

export const machineTable = (m: Machine): string[] =>
  table([
    ['cpu', 'cores', 'memory', 'node', 'os', 'load average (1 min) at start → end'],
    [m.cpu, String(m.cores), `${m.memoryGiB} GiB`, m.node, m.os, `${m.loadAtStart} → ${m.loadAtEnd ?? '?'}`],
  ]);

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

/** One bar a target, its measured ratio, with a line at its threshold; each row on its own scale. */
export const targetChart = (targets: readonly Target[]): string => {
  const [width, left, right, height] = [760, 230, 130, 40 + targets.length * 40];
  const escaped = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const text = (x: number, y: number, s: string, end = '') => `<text x="${x}" y="${y}"${end}>${escaped(s)}</text>`;
  const rows = targets.map((t, i) => {
    const [scale, y] = [(width - left - right) / (1.15 * Math.max(t.ratio, t.threshold)), 30 + i * 40];
    const at = (left + t.threshold * scale).toFixed(1);
    return [
      text(left - 8, y + 17, t.short, ' text-anchor="end"'),
      `<rect x="${left}" y="${y + 4}" width="${(t.ratio * scale).toFixed(1)}" height="20" fill="${t.pass ? '#3a8f4b' : '#c0392b'}"/>`,
      `<line x1="${at}" x2="${at}" y1="${y}" y2="${y + 28}" stroke="#222" stroke-width="2"/>`,
      text(width - right + 8, y + 17, `${fixed(t.ratio, 2)} (${t.atLeast ? '≥' : '≤'} ${t.threshold})`),
    ].join('');
  });
  const head = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="13">`;
  const title = text(left, 18, 'measured ratio (bar; green: pass) and its threshold (line)');
  return [head, `<rect width="${width}" height="${height}" fill="#fff"/>`, title, ...rows, '</svg>', ''].join('\n');
};

/** Write `body` to `file` and each of `beside` (name → text) into its folder; with `keep`, what followed KEEP_BELOW in the page stays. */
export const writeReport = (file: string, body: string, options: { keep?: boolean; beside?: Record<string, string> } = {}): void => {
  const kept = options.keep && existsSync(file) ? readFileSync(file, 'utf8').split(KEEP_BELOW).slice(1).join(KEEP_BELOW).replace(/^\n/, '') : '';
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, options.keep ? `${body}\n${KEEP_BELOW}\n${kept}` : body);
  for (const [name, text] of Object.entries(options.beside ?? {})) writeFileSync(path.join(path.dirname(file), name), text);
};
