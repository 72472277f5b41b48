import { ValidationError } from '../core/errors';
import { toTaskView } from '../core/retry-task';
import { services } from '../adapters/services';
import { httpHandler, json, limitParam, queryParams } from './http';

const { tasks } = services();

const PARAMETERS = new Set(['limit', 'cursor']);

export const handler = httpHandler(async (req) => {
  const query = queryParams(req);
  const unknown = Object.keys(query).filter((key) => !PARAMETERS.has(key));
  if (unknown.length > 0) throw new ValidationError(`Unknown parameter ${unknown.join(', ')}; use limit, cursor`);
  const page = await tasks.listTasks(limitParam(query), query.cursor);
  return json(200, page.items.map(toTaskView), page.cursor ? { 'x-next-cursor': page.cursor } : {});
});
