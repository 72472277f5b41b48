import { retryAllFailedJobs } from '../core/retry-all-failed-jobs';
import { parseRetryAllRequest } from '../core/retry-all-request';
import { services } from '../adapters/services';
import { httpHandler, json, parseJsonBody } from './http';

const { store, queue } = services();

export const handler = httpHandler(async (event) => {
  const body = event.body ? parseJsonBody(event) : undefined;
  const request = parseRetryAllRequest(event.queryStringParameters ?? {}, body);
  const result = await retryAllFailedJobs({ store, queue }, request);
  if (request.dryRun) {
    return json(200, { message: `Dry run: ${result.total} failed job(s) match; nothing was retried`, dryRun: true, ...result });
  }
  return json(200, { message: 'Retry operation complete', ...result });
});
