import { JobNotFoundError } from '../core/errors';
import { toJobDetails } from '../core/job';
import { services } from '../adapters/services';
import { httpHandler, jobIdParam, json } from './http';

const { store } = services();

export const handler = httpHandler(async (req) => {
  const jobId = jobIdParam(req);
  const job = await store.get(jobId);
  if (!job) throw new JobNotFoundError(jobId);
  return json(200, toJobDetails(job));
});
