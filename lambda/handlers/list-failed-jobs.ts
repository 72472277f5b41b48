import { parseFailedJobFilter } from '../core/failed-job-filter';
import { services } from '../adapters/services';
import { httpHandler, json, limitParam, queryParams } from './http';

const { store } = services();

export const handler = httpHandler(async (req) => {
  const query = queryParams(req);
  const filter = parseFailedJobFilter(query, ['limit', 'cursor']);
  const page = await store.listFailedSummaries(filter, limitParam(query), query.cursor);
  const headers: Record<string, string> = page.cursor ? { 'x-next-cursor': page.cursor } : {};
  return json(200, page.items, headers);
});
