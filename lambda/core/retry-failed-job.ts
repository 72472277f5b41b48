import { DependencyUnavailableError, JobNotFailedError, JobNotFoundError, StateConflictError } from './errors';
import type { Job, RetrySource } from './job';
import type { JobQueue, JobStore } from './ports';
import { isStaleCopy } from './sweep-stale-dead-letters';
import { retry, revertRetry, type RetryChange, type Transition } from './transitions';

export interface RetryDeps {
  readonly store: JobStore;
  readonly queue: JobQueue;
  readonly now?: () => number;
}

/** Explain why `jobId` could not be retried, reading it as it is now. */
const refusal = async (store: JobStore, jobId: string): Promise<Error> => {
  const current = await store.get(jobId);
  return current ? new JobNotFailedError(jobId, current.state) : new JobNotFoundError(jobId);
};

/**
 * Write the retry (failed → waiting, generation + 1). Of several callers
 * retrying one job at once, the conditional write lets exactly one through.
 */
export const claimRetry = async (
  store: JobStore,
  job: Job,
  at: number,
  source: RetrySource,
  taskId?: string,
  change?: RetryChange,
): Promise<Transition> => {
  const transition = retry(job, at, source, taskId, change);
  if (!transition) throw new JobNotFailedError(job.id, job.state);
  try {
    await store.save(transition.next, transition.expect, job);
  } catch (error) {
    if (error instanceof StateConflictError) throw await refusal(store, job.id);
    throw error;
  }
  return transition;
};

/**
 * Undo retries whose messages were not sent; a job already picked up stays as
 * it is (its message went after all, or the reconciler sent one). Resolves
 * with how many were undone.
 */
export const revertUnsent = async (store: JobStore, pairs: readonly { before: Job; after: Job }[]): Promise<number> => {
  const undone = await Promise.all(
    pairs.map(async ({ before, after }) => {
      const undo = revertRetry(before, after);
      try {
        await store.save(undo.next, undo.expect, after);
        return true;
      } catch (error) {
        if (!(error instanceof StateConflictError)) throw error;
        return false;
      }
    }),
  );
  return undone.filter(Boolean).length;
};

export const retryFailedJob = async (
  { store, queue, now = Date.now }: RetryDeps,
  jobId: string,
  source: RetrySource = 'api',
  change?: RetryChange,
): Promise<Job> => {
  const job = await store.get(jobId);
  if (!job) throw new JobNotFoundError(jobId);
  const { next } = await claimRetry(store, job, now(), source, undefined, change);
  const unsent = await queue.send([{ jobId, generation: next.generation }]);
  if (unsent.length > 0) {
    await revertUnsent(store, [{ before: job, after: next }]);
    throw new DependencyUnavailableError(
      `The job queue is unavailable right now; job ${jobId} is still failed, retry it again shortly`,
    );
  }
  return next;
};

/** Dead-letter messages looked at after a retry of one job: one receive. */
const SWEEP_AFTER_RETRY = 10;

/**
 * Retry a failed job on request, then clear the stale dead-letter copies
 * one receive brings: the job's own copy is stale from the retry on, and the
 * reconciler clears what this leaves. A failed sweep leaves the retry as it
 * is; `onSweepError` hears of it.
 */
export const retryFailedJobAndSweep = async (
  deps: RetryDeps,
  jobId: string,
  change: RetryChange,
  onSweepError: (error: unknown) => void,
): Promise<Job> => {
  const job = await retryFailedJob(deps, jobId, 'api', change);
  await deps.queue.sweepDeadLetters((message) => isStaleCopy(deps.store, message), SWEEP_AFTER_RETRY).catch(onSweepError);
  return job;
};
