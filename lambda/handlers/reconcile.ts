import { reconcile, type ReconcileReport } from '../core/reconcile';
import { services } from '../adapters/services';
import { logger } from './logger';

const { store, queue, tasks, taskQueue, recounts, config } = services();

/**
 * Runs on a schedule: every minute on AWS, a timer in the local runtime.
 * Awaited rather than returned, so this frame stays on the async stack of
 * every request the pass sends: an error's stack names the reconciler, and
 * so does `npm run bench:cost`, which tells scheduled work from a job's by it.
 */
export const handler = async (): Promise<ReconcileReport> =>
  await reconcile({ store, queue, tasks, taskQueue, recounts, log: logger }, { afterMs: config.reconcileAfterMs });
