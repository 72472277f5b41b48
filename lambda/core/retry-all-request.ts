import { z } from 'zod';
import { ValidationError } from './errors';
import { describeIssues } from './enqueue-request';
import { checkTimeRange, failedJobFilterShape, type FailedJobFilter } from './failed-job-filter';

/** `true`/`false` as JSON booleans or as query-string text. */
const flag = (field: string) =>
  z
    .union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')], {
      error: `${field} must be true or false`,
    })
    .optional();

const retryAllSchema = z.strictObject(
  {
    ...failedJobFilterShape,
    limit: z.coerce
      .number({ error: 'limit must be a whole number of jobs, 1 or more' })
      .int({ error: 'limit must be a whole number of jobs, 1 or more' })
      .min(1, { error: 'limit must be a whole number of jobs, 1 or more' })
      .optional(),
    dryRun: flag('dryRun'),
    async: flag('async'),
    maxPerSecond: z.coerce
      .number({ error: 'maxPerSecond must be a whole number from 1 to 10000' })
      .int({ error: 'maxPerSecond must be a whole number from 1 to 10000' })
      .min(1, { error: 'maxPerSecond must be a whole number from 1 to 10000' })
      .max(10_000, { error: 'maxPerSecond must be a whole number from 1 to 10000' })
      .optional(),
  },
  { error: 'The body must be a JSON object of filters: {"name", "since", "until", "error", "limit", "dryRun", "async", "maxPerSecond"}' },
);

export interface RetryAllRequest {
  readonly filter: FailedJobFilter;
  readonly limit?: number;
  readonly dryRun: boolean;
  /** Run as a background task, even if small. */
  readonly async: boolean;
  /** A background task's speed. */
  readonly maxPerSecond?: number;
}

/** Options from the query string and the JSON body together; the body wins where both say something. */
export const parseRetryAllRequest = (query: Record<string, unknown>, body: unknown): RetryAllRequest => {
  if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body))) {
    throw new ValidationError('The body must be a JSON object of filters, or empty');
  }
  const parsed = retryAllSchema.safeParse({ ...query, ...(body as object | undefined) });
  if (!parsed.success) throw new ValidationError(describeIssues(parsed.error));
  const { limit, dryRun = false, async = false, maxPerSecond, ...rest } = parsed.data;
  const filter = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) as FailedJobFilter;
  checkTimeRange(filter);
  return { filter, limit, dryRun, async, maxPerSecond };
};
