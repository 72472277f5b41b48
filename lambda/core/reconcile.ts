import type { JobQueue, JobStore, RetryTaskStore, TaskQueue } from './ports';
import { resumeAbandonedRecounts, type RecountStore } from './recount-jobs';
import { resendPendingJobs, type ResendCounts } from './resend-pending-jobs';
import { resumeAbandonedTasks } from './run-retry-task';
import { sweepStaleDeadLetters } from './sweep-stale-dead-letters';

/** Dead-letter messages looked at per pass. */
const DEAD_LETTERS_PER_PASS = 100;

export interface ReconcileDeps {
  readonly store: JobStore;
  readonly queue: JobQueue;
  readonly tasks: RetryTaskStore;
  readonly taskQueue: TaskQueue;
  readonly recounts: RecountStore;
  readonly log: { warn(message: string, extra: Record<string, unknown>): void };
  readonly now?: () => number;
}

/** What one pass repaired: jobs re-sent per state, tasks woken, dead-letter copies cleared. */
export type ReconcileReport = ResendCounts & { readonly tasks: number; readonly deadLettersCleared: number };

/**
 * One pass of the reconciler, run on a schedule: re-send the jobs left
 * without a message, wake the tasks and recounts whose runner stopped, and
 * clear a few of the dead-letter copies retries leave behind. Only what has
 * been still for `afterMs` is taken: anything younger is most likely still
 * on its way. Its reads are bounded by the jobs still to run and the open
 * tasks, never by the jobs retained: counts are kept by the counters, from
 * the table's stream, and recounted only on demand.
 */
export const reconcile = async (deps: ReconcileDeps, { afterMs }: { readonly afterMs: number }): Promise<ReconcileReport> => {
  const { store, queue, tasks, taskQueue, recounts, log, now = Date.now } = deps;
  const stillSince = () => now() - afterMs;
  const counts = await resendPendingJobs({ store, queue, now }, { olderThanMs: afterMs, unlessQueueCoversPending: true });
  const resumed = await resumeAbandonedTasks({ tasks, taskQueue, now: stillSince });
  if (resumed > 0) log.warn('Resumed retry tasks whose runner stopped', { tasks: resumed });
  const recountsResumed = await resumeAbandonedRecounts({ recounts, taskQueue, now: stillSince });
  if (recountsResumed > 0) log.warn('Resumed recounts whose runner stopped', { recounts: recountsResumed });
  // a retry leaves the job's dead-letter copy behind: clear a few each pass, while retries left some
  const cleared = (await sweepStaleDeadLetters({ store, queue }, DEAD_LETTERS_PER_PASS)) ?? 0;
  if (counts.waiting + counts.delayed + counts.active > 0) log.warn('Re-sent jobs left without a message', { ...counts });
  return { ...counts, tasks: resumed, deadLettersCleared: cleared };
};
