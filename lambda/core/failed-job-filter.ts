import * as z from 'zod';
import { ValidationError } from './errors';
import { describeIssues } from './enqueue-request';
import { NAME_PATTERN } from './limits';

/** Which failed jobs a listing or a bulk retry takes. Every field narrows; none means all. */
export interface FailedJobFilter {
  /** Only jobs of this name. */
  readonly name?: string;
  /** Only jobs that failed at or after this time (epoch ms; given as such or as an ISO 8601 date-time). */
  readonly since?: number;
  /** Only jobs that failed at or before this time (epoch ms). */
  readonly until?: number;
  /** Only jobs whose error contains this text, whatever the case of either (in the error's first 4,096 characters). */
  readonly error?: string;
}

/**
 * A whole number as a query string must spell it: decimal digits only. No
 * sign, space, exponent, hex or empty value, which `Number()` would each turn
 * into some number the caller did not write. Longer than 16 digits cannot be
 * an exact number in JavaScript.
 */
const DECIMAL_DIGITS = /^[0-9]{1,16}$/;

/** An integer from a query string, as {@link DECIMAL_DIGITS}, then checked by `schema`. */
export const queryInteger = (message: string, schema: z.ZodInt) =>
  z.string({ error: message }).regex(DECIMAL_DIGITS, { error: message }).transform(Number).pipe(schema);

/**
 * A full ISO 8601 date-time with seconds and a zone: `2026-12-02T04:40:00Z`,
 * `2026-12-02T06:40:00.250+02:00`. Nothing less: a date alone or a time
 * without a zone means a different instant on every machine that reads it,
 * and more than milliseconds would be cut without a word.
 */
const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(?:(Z)|([+-])(\d{2}):(\d{2}))$/;
/** What looks like a date, to say what it lacks rather than only what is expected. */
const DATE_LIKE = /^\d{4}-\d{2}-\d{2}/;

const TIME_DESCRIPTION = 'Epoch milliseconds, or an ISO 8601 date-time with seconds and a zone, such as 2026-12-02T04:40:00Z';

const timeMessage = (field: string) =>
  `${field} must be epoch milliseconds (digits only) or an ISO 8601 date-time with seconds and a zone, such as 2026-12-02T04:40:00Z`;

/** Epoch ms of an ISO 8601 date-time as {@link ISO_DATE_TIME} spells it; a sentence saying why not otherwise. */
export const parseIsoDateTime = (field: string, value: string): number | string => {
  const m = ISO_DATE_TIME.exec(value);
  if (!m) {
    if (DATE_LIKE.test(value) && !/(Z|[+-]\d{2}:\d{2})$/.test(value)) {
      return `${field} '${value}' has no time zone: give the date-time with seconds and Z or ±hh:mm, such as 2026-12-02T04:40:00Z`;
    }
    return timeMessage(field);
  }
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const ms = m[7] === undefined ? 0 : Number(m[7].padEnd(3, '0'));
  const local = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  const d = new Date(local);
  // Date.UTC rolls 2026-02-30 over to March: a date that does not exist is refused instead
  const exists =
    d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day &&
    d.getUTCHours() === hour && d.getUTCMinutes() === minute && d.getUTCSeconds() === second;
  const offsetHours = m[8] ? 0 : Number(m[10]);
  const offsetMinutes = m[8] ? 0 : Number(m[11]);
  if (!exists || offsetHours > 23 || offsetMinutes > 59) return `${field} '${value}' is not a date-time that exists`;
  const sign = m[9] === '-' ? -1 : 1;
  const at = local - sign * (offsetHours * 60 + offsetMinutes) * 60_000;
  return at < 0 ? `${field} must be a time in epoch milliseconds, 0 or more` : at;
};

/**
 * A time as epoch ms: in a query string decimal digits or an ISO 8601
 * date-time; in a JSON body a JSON number or an ISO 8601 date-time string.
 * One sentence says what is wrong with any other value.
 */
const epochMsOrIso = (field: string, from: 'query' | 'body') =>
  z.unknown().transform((value, ctx) => {
    const fail = (message: string) => {
      ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    };
    if (from === 'query' && typeof value === 'string' && DECIMAL_DIGITS.test(value)) value = Number(value);
    if (typeof value === 'number') {
      if (!Number.isSafeInteger(value)) return fail(`${field} must be a whole number of epoch milliseconds`);
    } else if (typeof value === 'string') {
      const at = parseIsoDateTime(field, value);
      return typeof at === 'string' ? fail(at) : at;
    } else return fail(timeMessage(field));
    return (value as number) < 0 ? fail(`${field} must be a time in epoch milliseconds, 0 or more`) : (value as number);
  })
  // what the transform takes, for the OpenAPI description, which cannot read it from the code
  .meta({
    description: `${TIME_DESCRIPTION}${from === 'query' ? '' : ' (a JSON number or a string)'}`,
    anyOf: [
      { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
      { type: 'string', format: 'date-time', pattern: ISO_DATE_TIME.source },
    ],
  });

const text = (field: string, pattern?: RegExp) => {
  const base = z.string({ error: `${field} must be a string` });
  return pattern ? base.regex(pattern, { error: `${field} must be 1-128 characters from A-Za-z0-9._:-` }) : base;
};

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const errorText = z
  .string({ error: 'error must be the text to look for, 1-500 characters' })
  .min(1, { error: 'error must be the text to look for, 1-500 characters' })
  .max(500, { error: 'error must be the text to look for, 1-500 characters' })
  // a lone surrogate has no UTF-8 form: DynamoDB would refuse the query
  .refine((value) => !LONE_SURROGATE.test(value), { error: 'error must be text: it holds an unpaired UTF-16 surrogate' });

/** The filter's fields as a query string gives them: every value a string. */
export const failedJobFilterQueryShape = {
  name: text('name', NAME_PATTERN).optional(),
  since: epochMsOrIso('since', 'query').optional(),
  until: epochMsOrIso('until', 'query').optional(),
  error: errorText.optional(),
};

/** The filter's fields in a JSON body: times as JSON numbers. */
export const failedJobFilterBodyShape = {
  name: text('name', NAME_PATTERN).optional(),
  since: epochMsOrIso('since', 'body').optional(),
  until: epochMsOrIso('until', 'body').optional(),
  error: errorText.optional(),
};

/** `since` after `until` can match nothing: say so instead of answering an empty list. */
export const checkTimeRange = (filter: FailedJobFilter): void => {
  if (filter.since !== undefined && filter.until !== undefined && filter.since > filter.until) {
    throw new ValidationError(`since (${filter.since}) is after until (${filter.until}); no job can match`);
  }
};

/** Drop the fields a parse left undefined. */
export const definedOnly = <T extends object>(value: T): T =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;

/** Parse a filter from query-string values; other parameters than `alsoAllowed` are refused. */
export const parseFailedJobFilter = (query: Record<string, unknown>, alsoAllowed: readonly string[] = []): FailedJobFilter => {
  const allowed = new Set([...Object.keys(failedJobFilterQueryShape), ...alsoAllowed]);
  const unknown = Object.keys(query).filter((key) => !allowed.has(key));
  if (unknown.length > 0) {
    throw new ValidationError(`Unknown parameter${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; use ${[...allowed].join(', ')}`);
  }
  const known = Object.fromEntries(Object.entries(query).filter(([key]) => key in failedJobFilterQueryShape));
  const parsed = z.object(failedJobFilterQueryShape).safeParse(known);
  if (!parsed.success) throw new ValidationError(describeIssues(parsed.error));
  const filter: FailedJobFilter = definedOnly(parsed.data);
  checkTimeRange(filter);
  return filter;
};
