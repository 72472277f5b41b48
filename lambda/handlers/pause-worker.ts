import type { ResponseBody, workerPauseSchema } from '../core/api-schemas';
import { setWorkerPaused } from '../core/pause-worker';
import { workerSwitch } from '../adapters/services';
import { assertNoOptions, callerOf, httpHandler, json } from './http';
import { logger } from './logger';

const switchServices = workerSwitch();

export const handler = httpHandler(async (req) => {
  assertNoOptions(req);
  const { changed, view } = await setWorkerPaused(switchServices, true, callerOf(req), (error) =>
    logger.warn('Paused the worker, but could not record who did', { error: error as Error }),
  );
  const message = changed
    ? 'Worker paused: jobs wait in the queue until it is resumed; jobs already running finish'
    : 'The worker is already paused: jobs wait in the queue until it is resumed';
  return json(200, { message, ...view } satisfies ResponseBody<typeof workerPauseSchema>);
});
