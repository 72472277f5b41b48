import type { retryAllResultSchema, ResponseBody, taskStartedSchema } from '../core/api-schemas';
import { planBulkOperation } from '../core/plan-bulk-operation';
import { retryAllFailedJobs } from '../core/retry-all-failed-jobs';
import { parseRetryAllRequest } from '../core/retry-all-request';
import { startRetryTask } from '../core/run-retry-task';
import { services } from '../adapters/services';
import { callerOf, httpHandler, json, parseJsonBody, queryParams } from './http';

const { store, queue, tasks, taskQueue } = services();

export const handler = httpHandler(async (req) => {
  const body = req.body === undefined ? undefined : parseJsonBody(req);
  const request = parseRetryAllRequest(queryParams(req), body);
  const plan = await planBulkOperation(store, request);
  if (plan.run === 'dry-run') {
    const { total } = plan;
    return json(200, {
      message: `Dry run: ${total} failed job(s) match; nothing was retried`,
      dryRun: true,
      retriedCount: 0,
      failedCount: 0,
      total,
    } satisfies ResponseBody<typeof retryAllResultSchema>);
  }
  if (plan.run === 'task') {
    const { total } = plan;
    const task = await startRetryTask({ tasks, taskQueue }, { ...request, by: callerOf(req) }, total);
    return json(202, {
      message: `Retrying ${total} failed job(s) in the background; follow GET /jobs/retry-tasks/${task.id}`,
      taskId: task.id,
      total,
    } satisfies ResponseBody<typeof taskStartedSchema>);
  }
  const result = await retryAllFailedJobs({ store, queue }, { ...request, by: callerOf(req) });
  return json(200, { message: 'Retry operation complete', ...result } satisfies ResponseBody<typeof retryAllResultSchema>);
});
