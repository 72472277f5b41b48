import type { removeAllResultSchema, ResponseBody } from '../core/api-schemas';
import { removeAllFailed } from '../core/bulk-operation';
import { parseRetryAllRequest } from '../core/retry-all-request';
import { services } from '../adapters/services';
import { callerOf, httpHandler, json, parseJsonBody, queryParams, taskStarted } from './http';
import { logger } from './logger';

const { store, tasks, taskQueue } = services();

export const handler = httpHandler(async (req) => {
  const body = req.body === undefined ? undefined : parseJsonBody(req);
  const request = parseRetryAllRequest(queryParams(req), body);
  const by = callerOf(req);
  const outcome = await removeAllFailed({ store, tasks, taskQueue }, request, by);
  switch (outcome.run) {
    case 'dry-run': {
      const { total } = outcome;
      return json(200, { message: `Dry run: ${total} failed job(s) match; nothing was removed`, dryRun: true, removedCount: 0, total } satisfies ResponseBody<typeof removeAllResultSchema>);
    }
    case 'task': {
      const { id: taskId, total } = outcome.task;
      logger.info('Started a remove task', { taskId, filter: request.filter, total, by: outcome.task.by });
      return taskStarted('Removing', outcome.task);
    }
    case 'now':
      logger.info('Removed failed jobs', { filter: request.filter, ...outcome.result, by });
      return json(200, { message: 'Remove operation complete', ...outcome.result } satisfies ResponseBody<typeof removeAllResultSchema>);
  }
});
