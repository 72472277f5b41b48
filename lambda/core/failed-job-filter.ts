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
  /** Only jobs whose error contains this text (case-sensitive). */
  readonly error?: string;
}

const epochMs = (field: string) =>
  z.coerce
    .number({ error: `${field} must be a time in epoch milliseconds` })
    .int({ error: `${field} must be a whole number of epoch milliseconds` })
    .min(0, { error: `${field} must be a time in epoch milliseconds, 0 or more` });

export const failedJobFilterShape = {
  name: z.string().regex(NAME_PATTERN, { error: 'name must be 1-128 characters from A-Za-z0-9._:-' }).optional(),
  since: epochMs('since').optional(),
  until: epochMs('until').optional(),
  error: z
    .string()
    .min(1, { error: 'error must be the text to look for, 1-500 characters' })
    .max(500, { error: 'error must be the text to look for, 1-500 characters' })
    .optional(),
};

/** `since` after `until` can match nothing: say so instead of answering an empty list. */
export const checkTimeRange = (filter: FailedJobFilter): void => {
  if (filter.since !== undefined && filter.until !== undefined && filter.since > filter.until) {
    throw new ValidationError(`since (${filter.since}) is after until (${filter.until}); no job can match`);
  }
};

/** Parse a filter from query-string values (strings) or a JSON body (numbers or strings); other fields are refused. */
export const parseFailedJobFilter = (input: Record<string, unknown>, alsoAllowed: readonly string[] = []): FailedJobFilter => {
  const allowed = new Set([...Object.keys(failedJobFilterShape), ...alsoAllowed]);
  const unknown = Object.keys(input).filter((key) => !allowed.has(key));
  if (unknown.length > 0) {
    throw new ValidationError(`Unknown parameter${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; use ${[...allowed].join(', ')}`);
  }
  const known = Object.fromEntries(Object.entries(input).filter(([key]) => key in failedJobFilterShape));
  const parsed = z.object(failedJobFilterShape).safeParse(known);
  if (!parsed.success) throw new ValidationError(describeIssues(parsed.error));
  const filter = Object.fromEntries(Object.entries(parsed.data).filter(([, v]) => v !== undefined)) as FailedJobFilter;
  checkTimeRange(filter);
  return filter;
};
