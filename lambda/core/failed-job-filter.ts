import { z } from 'zod';
import { ValidationError } from './errors';
import { describeIssues } from './enqueue-request';
import { NAME_PATTERN } from './limits';

/** Which failed jobs a listing or a bulk retry takes. Every field narrows; none means all. */
export interface FailedJobFilter {
  /** Only jobs of this name. */
  readonly name?: string;
  /** Only jobs that failed at or after this time (epoch ms). */
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

/** An integer from a JSON body: a JSON number, never a string, boolean, null or array. */
const epochMs = (field: string) =>
  z
    .int({ error: `${field} must be a whole number of epoch milliseconds` })
    .min(0, { error: `${field} must be a time in epoch milliseconds, 0 or more` });

// ISO 8601 is planned for since/until: a second branch of these two, for query and body alike
const queryEpochMs = (field: string) => queryInteger(`${field} must be a whole number of epoch milliseconds, digits only`, epochMs(field));

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
  since: queryEpochMs('since').optional(),
  until: queryEpochMs('until').optional(),
  error: errorText.optional(),
};

/** The filter's fields in a JSON body: times as JSON numbers. */
export const failedJobFilterBodyShape = {
  name: text('name', NAME_PATTERN).optional(),
  since: epochMs('since').optional(),
  until: epochMs('until').optional(),
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
