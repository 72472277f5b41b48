import { cancelRetryTask } from '../core/cancel-retry-task';
import { toTaskView } from '../core/retry-task';
import { services } from '../adapters/services';
import { httpHandler, json, taskIdParam } from './http';

const { tasks } = services();

export const handler = httpHandler(async (req) => json(200, toTaskView(await cancelRetryTask({ tasks }, taskIdParam(req)))));
