import type { ResponseBody, workerPauseSchema } from '../core/api-schemas';
import { setWorkerPaused } from '../core/pause-worker';
import { workerSwitch } from '../adapters/services';
import { assertNoOptions, callerOf, httpHandler, json } from './http';
import { logger } from './logger';

const switchServices = workerSwitch();

export const handler = httpHandler(async (req) => {
  assertNoOptions(req);
  const { changed, view } = await setWorkerPaused(switchServices, false, callerOf(req), (error) =>
    logger.warn('Resumed the worker, but could not record who did', { error: error as Error }),
  );
  const message = changed
    ? 'Worker resumed: the jobs waiting in the queue run again'
    : 'The worker is already running: there is nothing to resume';
  return json(200, { message, ...view } satisfies ResponseBody<typeof workerPauseSchema>);
});
