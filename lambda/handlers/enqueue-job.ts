import type { jobAcceptedSchema, ResponseBody } from '../core/api-schemas';
import { enqueueJob } from '../core/enqueue-job';
import { parseEnqueueRequest } from '../core/enqueue-request';
import { services } from '../adapters/services';
import { httpHandler, json, parseJsonBody } from './http';

const { store, queue } = services();

export const handler = httpHandler(async (req) => {
  const request = parseEnqueueRequest(parseJsonBody(req));
  const job = await enqueueJob({ store, queue }, request);
  return json(201, { id: job.id, name: job.name, state: job.state } satisfies ResponseBody<typeof jobAcceptedSchema>);
});
