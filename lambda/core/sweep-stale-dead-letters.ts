import type { JobMessage } from './job';
import type { JobQueue, JobStore } from './ports';

/** Dead-letter copies of jobs that are no longer failed in that generation: safe to delete. */
export const isStaleCopy = async (store: JobStore, message: JobMessage): Promise<boolean> => {
  const job = await store.get(message.jobId);
  return !job || job.generation !== message.generation || job.state !== 'failed';
};

/**
 * The reconciler's sweep of the dead-letter queue, only while there is
 * something to sweep: copies go stale only when a job leaves `failed`, which
 * the counters note in the same write as the state change. With none since
 * the last complete sweep, not one request goes to SQS. A pass that finds no
 * stale copy among the messages it looks at marks the count it started from
 * as swept; copies made stale during the pass are above that count, so the
 * next pass looks again.
 *
 * Resolves with the copies deleted, or undefined when nothing was due.
 */
export const sweepStaleDeadLetters = async (
  { store, queue }: { store: JobStore; queue: JobQueue },
  perPass: number,
): Promise<number | undefined> => {
  const { made, swept } = await store.staleCopies();
  if (made <= swept) return undefined;
  const cleared = await queue.sweepDeadLetters((message) => isStaleCopy(store, message), perPass);
  if (cleared === 0) await store.markSwept(made);
  return cleared;
};
