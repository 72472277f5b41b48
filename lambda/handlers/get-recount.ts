import { RecountNotFoundError } from '../core/errors';
import { isRecountId, toRecountView } from '../core/recount-jobs';
import { services } from '../adapters/services';
import { httpHandler, json, taskIdParam } from './http';

const { recounts } = services();

export const handler = httpHandler(async (event) => {
  const taskId = taskIdParam(event);
  const task = isRecountId(taskId) ? await recounts.getRecount(taskId) : undefined;
  if (!task) throw new RecountNotFoundError(taskId);
  return json(200, toRecountView(task));
});
