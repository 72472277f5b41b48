import { retryAllFailedJobs } from '../core/retry-all-failed-jobs';
import { services } from '../adapters/services';
import { httpHandler, json } from './http';

const { store, queue } = services();

export const handler = httpHandler(async () => {
  const result = await retryAllFailedJobs({ store, queue });
  return json(200, { message: 'Retry operation complete', ...result });
});
