import { h } from './dom';

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

/** A time in the operator's local time, with its epoch value on hover. */
export const time = (epochMs: number | null | undefined): HTMLElement | string => {
  if (epochMs === null || epochMs === undefined) return '—';
  const date = new Date(epochMs);
  return h('time', { datetime: date.toISOString(), title: `${epochMs} (epoch ms)` }, dateTime.format(date));
};

export const clockTime = (epochMs: number): string => clock.format(new Date(epochMs));

export const duration = (ms: number): string => {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
};

export const json = (value: unknown): string => (value === undefined ? '' : JSON.stringify(value, null, 2));

export const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** A value of `<input type="datetime-local">` (local time) as epoch ms. */
export const fromLocalInput = (value: string): number | undefined => {
  if (value === '') return undefined;
  const epoch = new Date(value).getTime();
  return Number.isNaN(epoch) ? undefined : epoch;
};

/** Epoch ms as a value for `<input type="datetime-local">`, to the second, in local time. */
export const toLocalInput = (epochMs: number): string => {
  const d = new Date(epochMs);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
};
