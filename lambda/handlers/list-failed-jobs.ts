import { toFailedJobSummary } from '../core/job';
import { services } from '../adapters/services';
import { httpHandler, json, limitParam } from './http';

const { store } = services();

export const handler = httpHandler(async (event) => {
  const limit = limitParam(event);
  const page = await store.listByState('failed', limit, event.queryStringParameters?.cursor);
  const headers: Record<string, string> = page.cursor ? { 'x-next-cursor': page.cursor } : {};
  return json(200, page.items.map(toFailedJobSummary), headers);
});
