import type { removeAllResultSchema, ResponseBody, taskStartedSchema } from '../core/api-schemas';
import { planBulkOperation } from '../core/plan-bulk-operation';
import { removeAllFailedJobs } from '../core/remove-all-failed-jobs';
import { parseRetryAllRequest } from '../core/retry-all-request';
import { startRetryTask } from '../core/run-retry-task';
import { services } from '../adapters/services';
import { callerOf, httpHandler, json, parseJsonBody, queryParams } from './http';
import { logger } from './logger';

const { store, tasks, taskQueue } = services();

export const handler = httpHandler(async (req) => {
  const body = req.body === undefined ? undefined : parseJsonBody(req);
  const request = parseRetryAllRequest(queryParams(req), body);
  const plan = await planBulkOperation(store, request);
  if (plan.run === 'dry-run') {
    const { total } = plan;
    return json(200, { message: `Dry run: ${total} failed job(s) match; nothing was removed`, dryRun: true, removedCount: 0, total } satisfies ResponseBody<typeof removeAllResultSchema>);
  }
  if (plan.run === 'task') {
    const { total } = plan;
    const task = await startRetryTask({ tasks, taskQueue }, { ...request, kind: 'remove', by: callerOf(req) }, total);
    logger.info('Started a remove task', { taskId: task.id, filter: request.filter, total, by: task.by });
    return json(202, {
      message: `Removing ${total} failed job(s) in the background; follow GET /jobs/retry-tasks/${task.id}`,
      taskId: task.id,
      total,
    } satisfies ResponseBody<typeof taskStartedSchema>);
  }
  const result = await removeAllFailedJobs({ store }, request);
  logger.info('Removed failed jobs', { filter: request.filter, ...result, by: callerOf(req) });
  return json(200, { message: 'Remove operation complete', ...result } satisfies ResponseBody<typeof removeAllResultSchema>);
});
