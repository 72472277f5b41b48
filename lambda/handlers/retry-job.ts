import type { jobMessageSchema, ResponseBody } from '../core/api-schemas';
import { retryFailedJobAndSweep } from '../core/retry-failed-job';
import { parseRetryJobBody } from '../core/retry-job-request';
import { services } from '../adapters/services';
import { callerOf, httpHandler, jobIdParam, json, parseJsonBody } from './http';
import { logger } from './logger';

const { store, queue } = services();

export const handler = httpHandler(async (req) => {
  const jobId = jobIdParam(req);
  const change = parseRetryJobBody(req.body === undefined ? undefined : parseJsonBody(req));
  await retryFailedJobAndSweep({ store, queue }, jobId, { ...change, by: callerOf(req) }, (error) =>
    logger.warn('Could not clear stale dead-letter copies', { error: error as Error }),
  );
  return json(200, { message: `Job '${jobId}' has been queued for retry`, jobId } satisfies ResponseBody<typeof jobMessageSchema>);
});
