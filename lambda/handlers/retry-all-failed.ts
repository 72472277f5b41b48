import type { retryAllResultSchema, ResponseBody } from '../core/api-schemas';
import { retryAllFailed } from '../core/bulk-operation';
import { parseRetryAllRequest } from '../core/retry-all-request';
import { services } from '../adapters/services';
import { callerOf, httpHandler, json, parseJsonBody, queryParams, taskStarted } from './http';

const { store, queue, tasks, taskQueue } = services();

export const handler = httpHandler(async (req) => {
  const body = req.body === undefined ? undefined : parseJsonBody(req);
  const outcome = await retryAllFailed({ store, queue, tasks, taskQueue }, parseRetryAllRequest(queryParams(req), body), callerOf(req));
  switch (outcome.run) {
    case 'dry-run':
      return json(200, {
        message: `Dry run: ${outcome.total} failed job(s) match; nothing was retried`,
        dryRun: true,
        retriedCount: 0,
        failedCount: 0,
        total: outcome.total,
      } satisfies ResponseBody<typeof retryAllResultSchema>);
    case 'task':
      return taskStarted('Retrying', outcome.task);
    case 'now':
      return json(200, { message: 'Retry operation complete', ...outcome.result } satisfies ResponseBody<typeof retryAllResultSchema>);
  }
});
