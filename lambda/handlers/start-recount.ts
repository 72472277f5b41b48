import { startRecount, toRecountView } from '../core/recount-jobs';
import { services } from '../adapters/services';
import { httpHandler, json } from './http';

const { recounts, taskQueue } = services();

export const handler = httpHandler(async () => json(202, toRecountView(await startRecount({ recounts, taskQueue }))));
