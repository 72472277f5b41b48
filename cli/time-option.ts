/**
 * `--since` and `--until` as a person types them. The API takes epoch ms
 * or ISO 8601 with a zone, and refuses a time without one: it names a
 * different instant on each machine. Here the machine is the operator's, so
 * a local date-time means their local time, and `2h` means two hours ago;
 * both are sent as epoch ms. Anything else goes as typed, for the API to
 * accept or refuse with its own sentence.
 */

const LOCAL = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?)?$/;
const AGO = /^(\d+)\s*(s|m|min|h|d)$/;
const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 };

export const toApiTime = (text: string, now = Date.now()): string => {
  const trimmed = text.trim();
  const ago = AGO.exec(trimmed);
  if (ago) return String(now - Number(ago[1]) * UNIT_MS[ago[2]!]!);
  const local = LOCAL.exec(trimmed);
  if (local) {
    const [, y, mo, d, h = '0', mi = '0', s = '0', ms = '0'] = local;
    const date = new Date(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), Number(ms.padEnd(3, '0')));
    // a date that does not exist (2026-02-30) rolls over in Date: send it as typed, for the API's sentence
    if (date.getMonth() !== Number(mo) - 1 || date.getDate() !== Number(d)) return text;
    return String(date.getTime());
  }
  return text;
};
