import { parseFailedJobFilter } from '../core/failed-job-filter';
import { services } from '../adapters/services';
import { httpHandler, json, limitParam } from './http';

const { store } = services();

export const handler = httpHandler(async (event) => {
  const query = event.queryStringParameters ?? {};
  const filter = parseFailedJobFilter(query, ['limit', 'cursor']);
  const page = await store.listFailedSummaries(filter, limitParam(event), query.cursor);
  const headers: Record<string, string> = page.cursor ? { 'x-next-cursor': page.cursor } : {};
  return json(200, page.items, headers);
});
