import type { Job } from '../../lambda/core/job';
import type { JobStore } from '../../lambda/core/ports';
import { claim, createJob, isClaimRefusal, moveAfterFailure } from '../../lambda/core/transitions';

export interface FailedJobSpec {
  readonly id: string;
  readonly name?: string;
  readonly data?: unknown;
  /** @default now */
  readonly failedAt?: number;
  /** @default 'boom' */
  readonly error?: string;
}

/**
 * Write a job straight to the store and take it through one failed
 * execution, as the worker would have: created, claimed, failed (one attempt).
 */
export const storeFailedJob = async (store: JobStore, spec: FailedJobSpec): Promise<Job> => {
  const failedAt = spec.failedAt ?? Date.now();
  const job = createJob(
    {
      id: spec.id,
      name: spec.name ?? 'demo.flaky',
      data: spec.data ?? { failTimes: 1 },
      opts: { attempts: 1, backoff: { type: 'fixed', delay: 0 }, delay: 0 },
    },
    failedAt - 100,
  );
  await store.create(job);
  const active = claim(job, 0, failedAt - 50, 30_000);
  if (isClaimRefusal(active)) throw new Error(`cannot claim ${spec.id}: ${active.reason}`);
  await store.save(active.next, active.expect);
  const failed = moveAfterFailure(active.next, failedAt - 50, failedAt, { message: spec.error ?? 'boom' });
  await store.save(failed.next, failed.expect);
  return failed.next;
};
