import { resumeAbandonedRecounts } from '../core/recount-jobs';
import { resendPendingJobs, type ResendCounts } from '../core/resend-pending-jobs';
import { resumeAbandonedTasks } from '../core/run-retry-task';
import { sweepStaleDeadLetters } from '../core/sweep-stale-dead-letters';
import { services } from '../adapters/services';
import { logger } from './logger';

const { store, queue, tasks, taskQueue, recounts, config } = services();

/** Dead-letter messages looked at per pass. */
const DLQ_SWEEP_PER_PASS = 100;

/**
 * Runs on a schedule (every minute on AWS, a timer in the local runtime).
 * Its reads are bounded by the jobs still to run and the open tasks, never
 * by the jobs retained: counts are kept by the counters, from the table's
 * stream, and recounted only on demand (POST /jobs/recount).
 */
export const handler = async (): Promise<ResendCounts & { tasks: number; deadLettersCleared: number }> => {
  const counts = await resendPendingJobs({ store, queue }, { olderThanMs: config.reconcileAfterMs, unlessQueueCoversPending: true });
  const resumed = await resumeAbandonedTasks({ tasks, taskQueue, now: () => Date.now() - config.reconcileAfterMs });
  if (resumed > 0) logger.warn('Resumed retry tasks whose runner stopped', { tasks: resumed });
  const recountsResumed = await resumeAbandonedRecounts({ recounts, taskQueue, now: () => Date.now() - config.reconcileAfterMs });
  if (recountsResumed > 0) logger.warn('Resumed recounts whose runner stopped', { recounts: recountsResumed });
  // a retry leaves the job's dead-letter copy behind: clear a few each pass, while retries left some
  const cleared = (await sweepStaleDeadLetters({ store, queue }, DLQ_SWEEP_PER_PASS)) ?? 0;
  if (counts.waiting + counts.delayed + counts.active > 0) logger.warn('Re-sent jobs left without a message', { ...counts });
  return { ...counts, tasks: resumed, deadLettersCleared: cleared };
};
