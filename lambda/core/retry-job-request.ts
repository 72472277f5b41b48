import * as z from 'zod';
import { ValidationError } from './errors';
import { assertDataWithinBudget, describeIssues } from './enqueue-request';

const BODY_MESSAGE = 'The body must be empty, or a JSON object {"data": ...}: the data to retry the job with';

export const retryJobBodySchema = z.strictObject(
  { data: z.unknown().refine((data) => data !== undefined, { error: `${BODY_MESSAGE}; data is missing` }) },
  { error: BODY_MESSAGE },
);

/**
 * A retry's optional body: `{"data": ...}` retries the job with that data,
 * checked as an enqueue's (its JSON text's nesting and numbers by the body
 * parser, its size here: PayloadTooLargeError past the budget). No body: the
 * data stays.
 */
export const parseRetryJobBody = (body: unknown): { data?: unknown } => {
  if (body === undefined) return {};
  const parsed = retryJobBodySchema.safeParse(body);
  if (!parsed.success) throw new ValidationError(describeIssues(parsed.error));
  assertDataWithinBudget(parsed.data.data);
  return { data: parsed.data.data };
};
