import { DependencyUnavailableError, JobNotDelayedError, JobNotFoundError, StateConflictError } from './errors';
import type { Job } from './job';
import type { JobQueue, JobStore } from './ports';
import { promote } from './transitions';

export interface PromoteDeps {
  readonly store: JobStore;
  readonly queue: JobQueue;
}

const refusal = async (store: JobStore, jobId: string): Promise<Error> => {
  const current = await store.get(jobId);
  return current ? new JobNotDelayedError(jobId, current.state) : new JobNotFoundError(jobId);
};

/**
 * Make a delayed job run at once: waiting, with a message sent without delay.
 * If the message cannot be sent the job goes back to delayed as it was (its
 * first message still comes when it is due) and the caller gets
 * DependencyUnavailableError.
 */
export const promoteJob = async ({ store, queue }: PromoteDeps, jobId: string): Promise<Job> => {
  const job = await store.get(jobId);
  if (!job) throw new JobNotFoundError(jobId);
  const transition = promote(job);
  if (!transition) throw new JobNotDelayedError(jobId, job.state);
  try {
    await store.save(transition.next, transition.expect, job);
  } catch (error) {
    if (error instanceof StateConflictError) throw await refusal(store, jobId);
    throw error;
  }
  const unsent = await queue.send([{ jobId, generation: job.generation }]);
  if (unsent.length > 0) {
    await store
      .save(job, { states: ['waiting'], generation: job.generation, attempts: job.attempts }, transition.next)
      .catch((error: unknown) => {
        // claimed meanwhile, by the message the reconciler or the old delay sent: it runs, as asked
        if (!(error instanceof StateConflictError)) throw error;
      });
    throw new DependencyUnavailableError(`The job queue is unavailable right now; job ${jobId} is still delayed, promote it again shortly`);
  }
  return transition.next;
};
