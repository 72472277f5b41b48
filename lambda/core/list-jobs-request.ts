import * as z from 'zod';
import { ValidationError } from './errors';
import { describeIssues } from './enqueue-request';
import { JOB_STATES, type JobState } from './job';
import { NAME_PATTERN } from './limits';

const STATE_MESSAGE = `state is required: one of ${JOB_STATES.join(', ')}`;

/** `GET /jobs`'s query string. */
export const listJobsQuerySchema = z.strictObject(
  {
    state: z.enum(JOB_STATES, { error: STATE_MESSAGE }),
    name: z.string().regex(NAME_PATTERN, { error: 'name must be 1-128 characters from A-Za-z0-9._:-' }).optional(),
    // checked by the handler's limit and the store's cursor rules
    limit: z.string().optional(),
    cursor: z.string().optional(),
  },
  { error: 'The query string takes state, name, limit, cursor' },
);

export interface ListJobsRequest {
  readonly state: JobState;
  readonly name?: string;
}

/** `GET /jobs?state=<state>&name=`: which jobs to list. */
export const parseListJobsRequest = (query: Record<string, string>): ListJobsRequest => {
  const parsed = listJobsQuerySchema.safeParse(query);
  if (!parsed.success) throw new ValidationError(describeIssues(parsed.error));
  const { state, name } = parsed.data;
  return name === undefined ? { state } : { state, name };
};
