import { JobActiveError, JobChangedError, JobNotFoundError, StateConflictError } from './errors';
import type { Job } from './job';
import type { JobStore } from './ports';

export interface RemoveDeps {
  readonly store: JobStore;
}

/**
 * Delete `job` exactly as read: its state, generation and attempt count. The
 * worker's claim and a retry are conditional writes on the same fields, so of
 * a removal and a claim (or a retry) racing for one job exactly one wins: the
 * job runs, or it is gone and the worker drops its message as one for a job
 * that does not exist. Its dead-letter copy is stale from then on for the
 * same reason.
 */
export const removeAsRead = (store: JobStore, job: Job): Promise<void> =>
  store.remove(job.id, { states: [job.state], generation: job.generation, attempts: job.attempts });

/**
 * Remove a job that is not active. One that changed between the read and the
 * delete (claimed, retried) is not removed: the caller asked about the job as
 * it was, and is told what it is now.
 */
export const removeJob = async ({ store }: RemoveDeps, jobId: string): Promise<Job> => {
  const job = await store.get(jobId);
  if (!job) throw new JobNotFoundError(jobId);
  if (job.state === 'active') throw new JobActiveError(jobId);
  try {
    await removeAsRead(store, job);
    return job;
  } catch (error) {
    if (!(error instanceof StateConflictError)) throw error;
    const now = await store.get(jobId);
    if (!now) throw new JobNotFoundError(jobId);
    throw now.state === 'active' ? new JobActiveError(jobId) : new JobChangedError(jobId, now.state);
  }
};
