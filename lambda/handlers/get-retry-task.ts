import { TaskNotFoundError } from '../core/errors';
import { toTaskView } from '../core/retry-task';
import { services } from '../adapters/services';
import { httpHandler, json, taskIdParam } from './http';

const { tasks } = services();

export const handler = httpHandler(async (req) => {
  const taskId = taskIdParam(req);
  const task = await tasks.getTask(taskId);
  if (!task) throw new TaskNotFoundError(taskId);
  return json(200, toTaskView(task));
});
