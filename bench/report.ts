// Every bench's report: a Markdown page of tables, files beside it, and a hand-written part below KEEP_BELOW that a
// new run keeps.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, type as osType } from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../infra/project-root';

export const KEEP_BELOW = '<!-- written by hand below this line; npm run bench keeps it -->';

export const describeMachine = () => ({
  cpu: cpus()[0]?.model.trim() ?? 'unknown',
  cores: cpus().length,
  memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
  node: process.version,
  os: `${osType()} ${release()}`,
  /** 1-minute load average when the run began and ended: was anything else busy? */
  loadAtStart: Math.round(loadavg()[0]! * 100) / 100,
  loadAtEnd: undefined as number | undefined,
});
export type Machine = ReturnType<typeof describeMachine>;

export const fixed = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export const verdict = (pass: boolean): string => (pass ? 'PASS' : 'FAIL');

export const commitMeasured = (): string =>
  execFileSync('git', ['rev-parse', 'HEAD'], { cwd: PROJECT_ROOT, encoding: 'utf8' }).trim();

/** A page's first sentence: the command, when and how long it ran, and the commit it measured. */
export const madeBy = (command: string, date: string, seconds: number): string =>
  `Made by \`${command}\` on ${date} (${fixed(seconds)} s), at commit \`${commitMeasured().slice(0, 10)}\``;

export const table = (rows: readonly (readonly string[])[]): string[] => {
  const [head, ...body] = rows.map((row) => `| ${row.join(' | ')} |`);
  return [head!, `|${rows[0]!.map(() => '---').join('|')}|`, ...body];
};

export const machineTable = (m: Machine): string[] =>
  table([
    ['cpu', 'cores', 'memory', 'node', 'os', 'load average (1 min) at start → end'],
    [m.cpu, String(m.cores), `${m.memoryGiB} GiB`, m.node, m.os, `${m.loadAtStart} → ${m.loadAtEnd ?? '?'}`],
  ]);

/** `a / b` against `threshold`: rates (per second) must reach it, latencies (ms) stay at or below it; `short` names
 * it on the chart. */
export const target = (name: string, short: string, goal: string, threshold: number, pair: number[], rates = true) => {
  const [a, b] = pair;
  const ratio = a! / b!;
  const value = (n: number) => (rates ? `${fixed(n)}/s` : `${n} ms`);
  const shown = goal.includes('%') ? `${fixed(ratio * 100, 1)}%` : `${fixed(ratio, 2)}×`;
  const pass = rates ? ratio >= threshold : ratio <= threshold;
  const measured = `${value(a!)} / ${value(b!)} = ${shown}`;
  return { name, short, target: goal, measured, ratio, threshold, atLeast: rates, pass };
};

export type Target = ReturnType<typeof target>;

/** One bar a target, its measured ratio, with a line at its threshold; each row on its own scale. */
export const targetChart = (targets: readonly Target[]): string => {
  const width = 760;
  const left = 230;
  const right = 130;
  const height = 40 + targets.length * 40;
  const escaped = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const text = (x: number, y: number, s: string, end = '') => `<text x="${x}" y="${y}"${end}>${escaped(s)}</text>`;
  const rows = targets.map((t, i) => {
    const scale = (width - left - right) / (1.15 * Math.max(t.ratio, t.threshold));
    const y = 30 + i * 40;
    const at = (left + t.threshold * scale).toFixed(1);
    const fill = t.pass ? '#3a8f4b' : '#c0392b';
    return [
      text(left - 8, y + 17, t.short, ' text-anchor="end"'),
      `<rect x="${left}" y="${y + 4}" width="${(t.ratio * scale).toFixed(1)}" height="20" fill="${fill}"/>`,
      `<line x1="${at}" x2="${at}" y1="${y}" y2="${y + 28}" stroke="#222" stroke-width="2"/>`,
      text(width - right + 8, y + 17, `${fixed(t.ratio, 2)} (${t.atLeast ? '≥' : '≤'} ${t.threshold})`),
    ].join('');
  });
  const size = `width="${width}" height="${height}"`;
  const head = `<svg xmlns="http://www.w3.org/2000/svg" ${size} font-family="sans-serif" font-size="13">`;
  const title = text(left, 18, 'measured ratio (bar; green: pass) and its threshold (line)');
  return [head, `<rect ${size} fill="#fff"/>`, title, ...rows, '</svg>', ''].join('\n');
};

/** `body` to `file`, each of `beside` (name → text) into its folder; with `keep`, what followed KEEP_BELOW stays. */
export const writeReport = (
  file: string,
  body: string,
  options: { keep: boolean; beside?: Record<string, string> },
): void => {
  const old = options.keep && existsSync(file) ? readFileSync(file, 'utf8') : '';
  const kept = old.split(KEEP_BELOW).slice(1).join(KEEP_BELOW).replace(/^\n/, '');
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, options.keep ? `${body}\n${KEEP_BELOW}\n${kept}` : body);
  for (const [name, text] of Object.entries(options.beside ?? {})) {
    writeFileSync(path.join(path.dirname(file), name), text);
  }
};
