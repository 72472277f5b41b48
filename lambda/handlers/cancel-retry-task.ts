import { StateConflictError, TaskNotFoundError, TaskNotRunningError } from '../core/errors';
import { toTaskView } from '../core/retry-task';
import { cancelRetryTask } from '../core/run-retry-task';
import { services } from '../adapters/services';
import { httpHandler, json, taskIdParam } from './http';

const { tasks } = services();

export const handler = httpHandler(async (req) => {
  const taskId = taskIdParam(req);
  // a runner's checkpoint may win the race for the version: read again and retry
  for (let attempt = 0; ; attempt++) {
    const task = await tasks.getTask(taskId);
    if (!task) throw new TaskNotFoundError(taskId);
    if (task.status !== 'RUNNING') throw new TaskNotRunningError(taskId, task.status);
    try {
      return json(200, toTaskView(await cancelRetryTask({ tasks }, task)));
    } catch (error) {
      if (!(error instanceof StateConflictError) || attempt >= 10) throw error;
    }
  }
});
