import * as z from 'zod';
import { PayloadTooLargeError, ValidationError } from './errors';
import type { JobOptions } from './job';
import { utf8Bytes } from './byte-budget';
import { BUDGETS, JOB_ID_PATTERN, LIMITS, NAME_PATTERN } from './limits';

const ms = (field: string, max: number) =>
  z
    .int({ error: `${field} must be a whole number of milliseconds` })
    .min(0, { error: `${field} must be 0 or more milliseconds` })
    .max(max, { error: `${field} must be at most ${max} milliseconds` });

/** The enqueue body, as `POST /jobs` takes it. */
export const enqueueBodySchema = z.strictObject(
  {
    name: z
      .string({ error: 'name is required: a string of 1-128 characters from A-Za-z0-9._:-' })
      .regex(NAME_PATTERN, { error: 'name must be 1-128 characters from A-Za-z0-9._:-' }),
    data: z.unknown().optional(),
    opts: z
      .strictObject(
        {
          attempts: z
            .int({ error: `opts.attempts must be an integer from 1 to ${LIMITS.maxAttempts}` })
            .min(1, { error: `opts.attempts must be an integer from 1 to ${LIMITS.maxAttempts}` })
            .max(LIMITS.maxAttempts, { error: `opts.attempts must be an integer from 1 to ${LIMITS.maxAttempts}` })
            .optional(),
          backoff: z
            .strictObject(
              {
                type: z.enum(['fixed', 'exponential'], {
                  error: 'opts.backoff.type must be "fixed" or "exponential"',
                }),
                delay: ms('opts.backoff.delay', LIMITS.maxBackoffDelayMs),
              },
              { error: 'opts.backoff must be an object {type: "fixed" | "exponential", delay}' },
            )
            .optional(),
          delay: ms('opts.delay', LIMITS.maxDelayMs).optional(),
          timeout: z
            .int({ error: 'opts.timeout must be a whole number of milliseconds' })
            .min(1, { error: 'opts.timeout must be at least 1 millisecond' })
            .max(LIMITS.maxTimeoutMs, { error: `opts.timeout must be at most ${LIMITS.maxTimeoutMs} milliseconds` })
            .optional(),
          jobId: z
            .string({ error: 'opts.jobId must be a string of 1-128 characters from A-Za-z0-9._:-' })
            .regex(JOB_ID_PATTERN, { error: 'opts.jobId must be 1-128 characters from A-Za-z0-9._:-, not dots alone' })
            .optional(),
        },
        { error: 'opts must be an object' },
      )
      .optional(),
  },
  { error: 'The body must be a JSON object: {"name": "...", "data": ..., "opts": {...}}' },
);

export interface EnqueueRequest {
  readonly name: string;
  readonly data: unknown;
  readonly opts: JobOptions;
  readonly jobId?: string;
}

/** Turn a zod failure into one sentence naming every problem. */
export const describeIssues = (error: z.ZodError): string =>
  error.issues
    .map((issue) =>
      issue.code === 'unrecognized_keys'
        ? `Unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys
            .map((k) => [...issue.path, k].join('.'))
            .join(', ')}`
        : issue.message,
    )
    .join('; ');

/**
 * Refuse job data past its budget (BUDGETS.dataBytes, in limits.ts), measured
 * as the JSON text the job item keeps: a job's data is written with every
 * transition's item, and past its budget an outcome might not fit beside it.
 */
export const assertDataWithinBudget = (data: unknown): void => {
  const bytes = data === undefined ? 0 : utf8Bytes(JSON.stringify(data));
  if (bytes > BUDGETS.dataBytes) {
    throw new PayloadTooLargeError(
      `data is ${bytes} bytes as JSON; the limit is ${BUDGETS.dataBytes} bytes (${BUDGETS.dataBytes / 1024} KiB). Store large payloads elsewhere and enqueue a reference.`,
    );
  }
};

/** Validate an enqueue body (already JSON-parsed) and apply the defaults. */
export const parseEnqueueRequest = (body: unknown): EnqueueRequest => {
  const parsed = enqueueBodySchema.safeParse(body);
  if (!parsed.success) throw new ValidationError(describeIssues(parsed.error));
  const { name, data, opts = {} } = parsed.data;
  assertDataWithinBudget(data);
  return {
    name,
    data: data ?? null,
    jobId: opts.jobId,
    opts: {
      attempts: opts.attempts ?? LIMITS.defaultAttempts,
      backoff: opts.backoff ?? { type: 'fixed', delay: 0 },
      delay: opts.delay ?? 0,
      ...(opts.timeout !== undefined ? { timeout: opts.timeout } : {}),
    },
  };
};
