import { reconcile, type ReconcileReport } from '../core/reconcile';
import { services } from '../adapters/services';
import { logger } from './logger';

const { store, queue, tasks, taskQueue, recounts, config } = services();

/** Runs on a schedule: every minute on AWS, a timer in the local runtime. */
export const handler = (): Promise<ReconcileReport> =>
  reconcile({ store, queue, tasks, taskQueue, recounts, log: logger }, { afterMs: config.reconcileAfterMs });
