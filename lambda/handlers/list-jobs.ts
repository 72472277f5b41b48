import { parseListJobsRequest } from '../core/list-jobs-request';
import { services } from '../adapters/services';
import { httpHandler, json, limitParam, queryParams } from './http';

const { store } = services();

export const handler = httpHandler(async (req) => {
  const query = queryParams(req);
  const { state, name } = parseListJobsRequest(query);
  const page = await store.listSummaries(state, { name }, limitParam(query), query.cursor);
  return json(200, page.items, page.cursor ? { 'x-next-cursor': page.cursor } : {});
});
