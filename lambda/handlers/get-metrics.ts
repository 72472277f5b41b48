import { getMetrics } from '../core/get-metrics';
import { services, workerSwitch } from '../adapters/services';
import { httpHandler, json } from './http';

const { store, queue } = services();
const { worker, changes } = workerSwitch();

export const handler = httpHandler(async () => json(200, await getMetrics({ store, queue, worker, changes })));
