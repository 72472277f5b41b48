import { promoteJob } from '../core/promote-job';
import { services } from '../adapters/services';
import { httpHandler, jobIdParam, json } from './http';

const { store, queue } = services();

export const handler = httpHandler(async (event) => {
  const jobId = jobIdParam(event);
  await promoteJob({ store, queue }, jobId);
  return json(200, { message: `Job '${jobId}' has been promoted`, jobId });
});
