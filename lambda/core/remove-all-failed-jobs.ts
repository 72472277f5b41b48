import { StateConflictError } from './errors';
import type { Job } from './job';
import type { JobStore } from './ports';
import { removeAsRead } from './remove-job';
import { forEachFailedPage, mapBounded, type RetryAllOptions } from './retry-all-failed-jobs';

export interface RemoveAllResult {
  readonly removedCount: number;
  /** Failed jobs that matched; those not removed were retried or removed by someone else meanwhile. */
  readonly total: number;
}

export interface RemoveAllDeps {
  readonly store: JobStore;
  /** Conditional deletes in flight at once. @default 32 */
  readonly concurrency?: number;
  /** Failed jobs read per page. @default 100 */
  readonly pageSize?: number;
}

/**
 * Delete one page of failed jobs, each only if it is still failed in the
 * generation it was listed in: a job retried meanwhile is left to run, and
 * counted as not removed.
 */
export const removePage = async (
  { store, concurrency = 32 }: RemoveAllDeps,
  jobs: readonly Job[],
): Promise<{ removed: number; failed: number }> => {
  const removed = await mapBounded(jobs, concurrency, async (job) => {
    try {
      await removeAsRead(store, job);
      return true;
    } catch (error) {
      if (error instanceof StateConflictError) return false;
      throw error;
    }
  });
  const count = removed.filter(Boolean).length;
  return { removed: count, failed: jobs.length - count };
};

/** Remove every failed job matching the options (or count them, with `dryRun`). */
export const removeAllFailedJobs = async (deps: RemoveAllDeps, options: RetryAllOptions = {}): Promise<RemoveAllResult> => {
  let removed = 0;
  const total = await forEachFailedPage(deps.store, options, deps.pageSize ?? 100, async (jobs) => {
    if (options.dryRun) return;
    removed += (await removePage(deps, jobs)).removed;
  });
  return { removedCount: removed, total };
};
