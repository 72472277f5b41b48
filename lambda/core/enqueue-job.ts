import { randomUUID } from 'node:crypto';
import { DependencyUnavailableError } from './errors';
import type { Job } from './job';
import type { JobQueue, JobStore } from './ports';
import type { EnqueueRequest } from './enqueue-request';
import { createJob } from './transitions';

export interface EnqueueDeps {
  readonly store: JobStore;
  readonly queue: JobQueue;
  readonly now?: () => number;
}

/**
 * Record the job, then send its message. If the message cannot be sent the
 * job is taken back out, so a caller who sees the error can simply try again
 * with the same jobId.
 */
export const enqueueJob = async ({ store, queue, now = Date.now }: EnqueueDeps, request: EnqueueRequest): Promise<Job> => {
  const job = createJob(
    { id: request.jobId ?? randomUUID(), name: request.name, data: request.data, opts: request.opts },
    now(),
  );
  await store.create(job);
  const unsent = await queue.send([{ jobId: job.id, generation: job.generation }], request.opts.delay);
  if (unsent.length > 0) {
    await store.remove(job.id, { states: [job.state], generation: job.generation, attempts: 0 });
    throw new DependencyUnavailableError('The job queue is unavailable right now; the job was not enqueued, try again shortly');
  }
  return job;
};
