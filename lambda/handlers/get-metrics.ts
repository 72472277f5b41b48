import { getMetrics } from '../core/get-metrics';
import { services } from '../adapters/services';
import { httpHandler, json } from './http';

const { store, queue } = services();

export const handler = httpHandler(async () => json(200, await getMetrics({ store, queue })));
