/**
 * The writes a job operation cannot do without, sent alone from the bench's
 * client at the bench's concurrency, as the floor is: what the table itself
 * allows for that operation before requeue adds anything to it (the
 * handlers' own SDK calls in the runtime's process, the queue's messages,
 * the API's HTTP, the pages read).
 *
 * - a retry's write: the conditional UpdateItem `claimRetry` makes of a failed
 *   job (its state, generation and retry history set, both index entries
 *   moved), through the job store the handlers use;
 * - a job's writes: the three a job run end to end cannot do without, one
 *   after the other: its conditional PutItem (`store.create`, as `POST /jobs`
 *   makes it), the worker's claim (`store.claim`) and its completion
 *   (`store.save` of `moveToCompleted`).
 */
import type { DynamoDbJobStore } from '../lambda/adapters/dynamodb-job-store';
import type { Job } from '../lambda/core/job';
import { claimRetry } from '../lambda/core/retry-failed-job';
import { moveToCompleted } from '../lambda/core/transitions';
import { now, perSecond, runConcurrently } from './load';
import { LEASE_MS, newJob } from './seed';

export interface OwnWrites {
  readonly jobs: number;
  readonly writes: number;
  readonly concurrency: number;
  readonly ms: number;
  /** Jobs a second. */
  readonly perSecond: number;
}

/** Each failed job of `jobs` retried by its write alone, `concurrency` at a time. */
export const measureRetryWrites = async (store: DynamoDbJobStore, jobs: readonly Job[], concurrency: number): Promise<OwnWrites> => {
  const start = now();
  await runConcurrently(jobs.length, concurrency, async (i) => {
    await claimRetry(store, jobs[i]!, Date.now(), 'api');
  });
  const ms = now() - start;
  return { jobs: jobs.length, writes: jobs.length, concurrency, ms, perSecond: perSecond(jobs.length, ms) };
};

/** `count` new jobs, each created, claimed and completed by its three writes alone, `concurrency` jobs at a time. */
export const measureJobWrites = async (store: DynamoDbJobStore, count: number, concurrency: number, firstN: number): Promise<OwnWrites> => {
  const start = now();
  await runConcurrently(count, concurrency, async (i) => {
    const job = newJob(firstN + i, Date.now());
    await store.create(job);
    const claimed = await store.claim(job.id, job.generation, Date.now(), LEASE_MS);
    if (!claimed) throw new Error(`job ${job.id}: the claim found it no longer waiting`);
    const at = Date.now();
    const { next, expect } = moveToCompleted(claimed, at, at, claimed.data);
    await store.save(next, expect, claimed);
  });
  const ms = now() - start;
  return { jobs: count, writes: count * 3, concurrency, ms, perSecond: perSecond(count, ms) };
};
