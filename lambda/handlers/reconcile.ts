import { resendPendingJobs, type ResendCounts } from '../core/resend-pending-jobs';
import { services } from '../adapters/services';
import { logger } from './logger';

const { store, queue, config } = services();

/** Runs on a schedule (every minute on AWS, a timer in the local runtime). */
export const handler = async (): Promise<ResendCounts> => {
  const counts = await resendPendingJobs({ store, queue }, { olderThanMs: config.reconcileAfterMs });
  await store.flush();
  // counters drift when a process dies before writing them, or jobs expire: set them right once an hour
  if (new Date().getUTCMinutes() === 0) logger.info('Recounted jobs per state', { ...(await store.recount()) });
  if (counts.waiting + counts.delayed + counts.active > 0) logger.warn('Re-sent jobs left without a message', { ...counts });
  return counts;
};
