import * as z from 'zod';
import { queryInteger } from './failed-job-filter';
import { JOB_ID_PATTERN, LIMITS } from './limits';

export const LIMIT_MESSAGE = `limit must be a whole number from 1 to ${LIMITS.maxListLimit}`;

/** A listing's page size, from the query string. */
export const limitSchema = queryInteger(
  LIMIT_MESSAGE,
  z.int({ error: LIMIT_MESSAGE }).min(1, { error: LIMIT_MESSAGE }).max(LIMITS.maxListLimit, { error: LIMIT_MESSAGE }),
);

/** The query parameters every listing takes besides its own. */
export const pageQueryShape = {
  limit: limitSchema.optional().meta({ description: `Jobs or tasks per page, 1-${LIMITS.maxListLimit}; default ${LIMITS.defaultListLimit}` }),
  cursor: z.string().optional().meta({ description: 'The X-Next-Cursor of the page before, with the same filters' }),
};

/** The body of a route that takes no options: none, or `{}`. */
export const noOptionsBodySchema = z.strictObject({});

/** The path parameters of the routes, by name. */
export const PATH_PARAMETERS = {
  jobId: z.string().regex(JOB_ID_PATTERN).meta({ description: 'A job id: 1-128 characters from A-Za-z0-9._:-, not dots alone' }),
  taskId: z.string().regex(JOB_ID_PATTERN).meta({ description: 'The taskId a retry-all, remove-all or recount answered with' }),
} as const;
