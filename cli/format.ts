/**
 * What the CLI shows people: times in the machine's local time zone, tables
 * with aligned columns, counts and durations in words. Scripts take `--json`
 * instead, where the API's epoch milliseconds stay as they are.
 */

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** `2026-12-02 09:40:01`, in local time; `-` for no time. */
export const formatTime = (epochMs: number | null | undefined): string => {
  if (epochMs === null || epochMs === undefined || !Number.isFinite(epochMs)) return '-';
  const d = new Date(epochMs);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
};

/** The local zone's offset at that instant, as ISO 8601 writes it: `+05:30`, `-08:00`, `+00:00`. */
export const formatOffset = (epochMs: number): string => {
  const minutes = -new Date(epochMs).getTimezoneOffset();
  const sign = minutes < 0 ? '-' : '+';
  return `${sign}${pad(Math.floor(Math.abs(minutes) / 60))}:${pad(Math.abs(minutes) % 60)}`;
};

/** `1.2 s`, `3 min 4 s`, `2 h 5 min`, `3 d 4 h`. */
export const formatDuration = (ms: number): string => {
  if (!Number.isFinite(ms)) return '-';
  const abs = Math.abs(ms);
  if (abs < 1_000) return `${Math.round(abs)} ms`;
  if (abs < 60_000) return `${(abs / 1_000).toFixed(abs < 10_000 ? 1 : 0)} s`;
  const s = Math.floor(abs / 1_000);
  if (s < 3_600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  if (s < 86_400) return `${Math.floor(s / 3_600)} h${Math.floor(s / 60) % 60 ? ` ${Math.floor(s / 60) % 60} min` : ''}`;
  return `${Math.floor(s / 86_400)} d${Math.floor(s / 3_600) % 24 ? ` ${Math.floor(s / 3_600) % 24} h` : ''}`;
};

/** A time with how long ago (or how soon) it is: `2026-12-02 09:40:01 (3 min ago)`. */
export const formatTimeAgo = (epochMs: number | null | undefined, now = Date.now()): string => {
  if (epochMs === null || epochMs === undefined || !Number.isFinite(epochMs)) return '-';
  const delta = now - epochMs;
  const when = Math.abs(delta) < 1_000 ? 'now' : delta > 0 ? `${formatDuration(delta)} ago` : `in ${formatDuration(-delta)}`;
  return `${formatTime(epochMs)} (${when})`;
};

/** One line of text, at most `width` characters: newlines become spaces, the rest is cut with `…`. */
export const oneLine = (text: string | null | undefined, width: number): string => {
  if (text === null || text === undefined) return '-';
  const flat = text.replace(/\s*\n\s*/g, ' ').trim();
  return flat.length <= width ? flat : `${flat.slice(0, Math.max(0, width - 1))}…`;
};

export interface Column<T> {
  readonly header: string;
  readonly value: (row: T) => string;
  /** Right-aligned (numbers). */
  readonly right?: boolean;
}

/** Rows under their headers, each column as wide as its widest cell, two spaces apart. */
export const table = <T>(rows: readonly T[], columns: readonly Column<T>[]): string => {
  const cells = rows.map((row) => columns.map((column) => column.value(row)));
  const widths = columns.map((column, i) => Math.max(column.header.length, ...cells.map((line) => line[i]!.length)));
  const render = (line: readonly string[]) =>
    line
      .map((cell, i) => (columns[i]!.right ? cell.padStart(widths[i]!) : i === line.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [render(columns.map((c) => c.header)), ...cells.map(render)].join('\n');
};

/** `label  value` lines, the labels aligned. */
export const fields = (pairs: readonly (readonly [string, string])[]): string => {
  const width = Math.max(...pairs.map(([label]) => label.length));
  return pairs.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n');
};

const BARS = '▁▂▃▄▅▆▇█';

/** A bar per value, scaled to the largest: `▁▁▃█▅`. */
export const sparkline = (values: readonly number[]): string => {
  const max = Math.max(0, ...values);
  return values.map((v) => (max === 0 ? BARS[0] : BARS[Math.min(BARS.length - 1, Math.round((v / max) * (BARS.length - 1)))])).join('');
};

/** JSON on one line, cut to `width`. */
export const compactJson = (value: unknown, width: number): string =>
  value === undefined ? '-' : oneLine(JSON.stringify(value), width);

export const plural = (n: number, one: string, many = `${one}s`): string => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
