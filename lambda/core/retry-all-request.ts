import * as z from 'zod';
import { ValidationError } from './errors';
import { describeIssues } from './enqueue-request';
import {
  checkTimeRange,
  definedOnly,
  failedJobFilterBodyShape,
  failedJobFilterQueryShape,
  queryInteger,
  type FailedJobFilter,
} from './failed-job-filter';

const LIMIT_MESSAGE = 'limit must be a whole number of jobs, 1 or more';
const RATE_MESSAGE = 'maxPerSecond must be a whole number from 1 to 10000';

const limit = z.int({ error: LIMIT_MESSAGE }).min(1, { error: LIMIT_MESSAGE });
const maxPerSecond = z.int({ error: RATE_MESSAGE }).min(1, { error: RATE_MESSAGE }).max(10_000, { error: RATE_MESSAGE });
const flagMessage = (field: string) => `${field} must be true or false`;

const FIELDS = '"name", "since", "until", "error", "limit", "dryRun", "async", "maxPerSecond"';

/** The options as a query string gives them: text, read strictly. */
export const retryAllQuerySchema = z.strictObject(
  {
    ...failedJobFilterQueryShape,
    limit: queryInteger(LIMIT_MESSAGE, limit).optional(),
    dryRun: z.enum(['true', 'false'], { error: flagMessage('dryRun') }).transform((v) => v === 'true').optional(),
    async: z.enum(['true', 'false'], { error: flagMessage('async') }).transform((v) => v === 'true').optional(),
    maxPerSecond: queryInteger(RATE_MESSAGE, maxPerSecond).optional(),
  },
  { error: `The query string takes ${FIELDS}` },
);

/** The options as a JSON body gives them: numbers as JSON numbers, flags as JSON booleans. */
export const retryAllBodySchema = z.strictObject(
  {
    ...failedJobFilterBodyShape,
    limit: limit.optional(),
    dryRun: z.boolean({ error: flagMessage('dryRun') }).optional(),
    async: z.boolean({ error: flagMessage('async') }).optional(),
    maxPerSecond: maxPerSecond.optional(),
  },
  { error: `The body must be a JSON object of filters: {${FIELDS}}` },
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

const parse = <T>(schema: z.ZodType<T>, input: unknown): T => {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new ValidationError(describeIssues(parsed.error));
  return parsed.data;
};

/** Options from the query string and the JSON body together; the body wins where both say something. */
export const parseRetryAllRequest = (query: Record<string, unknown>, body: unknown): RetryAllRequest => {
  if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body))) {
    throw new ValidationError('The body must be a JSON object of filters, or empty');
  }
  const merged = { ...definedOnly(parse(retryAllQuerySchema, query)), ...definedOnly(parse(retryAllBodySchema, body ?? {})) };
  const { limit: cap, dryRun = false, async = false, maxPerSecond: rate, ...rest } = merged;
  const filter: FailedJobFilter = rest;
  checkTimeRange(filter);
  return { filter, limit: cap, dryRun, async, maxPerSecond: rate };
};
