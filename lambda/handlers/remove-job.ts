import type { jobMessageSchema, ResponseBody } from '../core/api-schemas';
import { removeJob } from '../core/remove-job';
import { services } from '../adapters/services';
import { callerOf, httpHandler, jobIdParam, json } from './http';
import { logger } from './logger';

const { store } = services();

export const handler = httpHandler(async (req) => {
  const jobId = jobIdParam(req);
  const removed = await removeJob({ store }, jobId);
  logger.info('Removed a job', { jobId, name: removed.name, state: removed.state, by: callerOf(req) });
  return json(200, { message: `Job '${jobId}' has been removed`, jobId } satisfies ResponseBody<typeof jobMessageSchema>);
});
