import { retryAllFailedJobs } from '../core/retry-all-failed-jobs';
import { parseRetryAllRequest } from '../core/retry-all-request';
import { startRetryTask } from '../core/run-retry-task';
import { services } from '../adapters/services';
import { callerOf, httpHandler, json, parseJsonBody, queryParams } from './http';

const { store, queue, tasks, taskQueue } = services();

/** More failed jobs than this are retried by a background task: a request would take too long. */
export const SYNC_RETRY_LIMIT = 1000;

export const handler = httpHandler(async (req) => {
  const body = req.body === undefined ? undefined : parseJsonBody(req);
  const request = parseRetryAllRequest(queryParams(req), body);
  const cap = request.limit ?? Number.POSITIVE_INFINITY;
  const matching = await store.countFailed(request.filter, request.async || request.dryRun ? undefined : SYNC_RETRY_LIMIT + 1);
  if (request.dryRun) {
    const total = Math.min(matching, cap);
    return json(200, {
      message: `Dry run: ${total} failed job(s) match; nothing was retried`,
      dryRun: true,
      retriedCount: 0,
      failedCount: 0,
      total,
    });
  }
  if (request.async || Math.min(matching, cap) > SYNC_RETRY_LIMIT) {
    const total = Math.min(request.async ? matching : await store.countFailed(request.filter), cap);
    const task = await startRetryTask({ tasks, taskQueue }, { ...request, by: callerOf(req) }, total);
    return json(202, {
      message: `Retrying ${total} failed job(s) in the background; follow GET /jobs/retry-tasks/${task.id}`,
      taskId: task.id,
      total,
    });
  }
  const result = await retryAllFailedJobs({ store, queue }, { ...request, by: callerOf(req) });
  return json(200, { message: 'Retry operation complete', ...result });
});
