import type { jobMessageSchema, ResponseBody } from '../core/api-schemas';
import { promoteJob } from '../core/promote-job';
import { services } from '../adapters/services';
import { callerOf, httpHandler, jobIdParam, json } from './http';
import { logger } from './logger';

const { store, queue } = services();

export const handler = httpHandler(async (req) => {
  const jobId = jobIdParam(req);
  await promoteJob({ store, queue }, jobId);
  logger.info('Promoted a job', { jobId, by: callerOf(req) });
  return json(200, { message: `Job '${jobId}' has been promoted`, jobId } satisfies ResponseBody<typeof jobMessageSchema>);
});
