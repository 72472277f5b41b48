import type { jobMessageSchema, ResponseBody } from '../core/api-schemas';
import { isStaleCopy } from '../core/retry-all-failed-jobs';
import { retryFailedJob } from '../core/retry-failed-job';
import { parseRetryJobBody } from '../core/retry-job-request';
import { services } from '../adapters/services';
import { callerOf, httpHandler, jobIdParam, json, parseJsonBody } from './http';
import { logger } from './logger';

const { store, queue } = services();

/** Dead-letter messages looked at after a retry: one receive. */
const SWEEP = 10;

export const handler = httpHandler(async (req) => {
  const jobId = jobIdParam(req);
  const change = parseRetryJobBody(req.body === undefined ? undefined : parseJsonBody(req));
  await retryFailedJob({ store, queue }, jobId, 'api', { ...change, by: callerOf(req) });
  // the job's dead-letter copy is stale now; clear what stale copies one receive brings (the reconciler does the rest)
  await queue
    .sweepDeadLetters((message) => isStaleCopy(store, message), SWEEP)
    .catch((error: unknown) => logger.warn('Could not clear stale dead-letter copies', { error: error as Error }));
  return json(200, { message: `Job '${jobId}' has been queued for retry`, jobId } satisfies ResponseBody<typeof jobMessageSchema>);
});
