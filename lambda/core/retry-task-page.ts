import type { Job } from './job';
import type { Page } from './ports';
import { removePage } from './remove-all-failed-jobs';
import { mapBounded, retryPage, type RetryAllDeps } from './retry-all-failed-jobs';
import { isRetriedByTask, type RetryTask } from './retry-task';

/** Jobs read at once when a recorded page is read again. */
const READS = 32;

interface Counts {
  readonly retried: number;
  readonly failed: number;
}

/** Act on jobs listed failed: retry them naming the task, or remove them. */
const actOn = (deps: RetryAllDeps, task: RetryTask, jobs: readonly Job[]): Promise<Counts> =>
  task.kind === 'remove' ? removePage(deps, jobs).then(({ removed, failed }) => ({ retried: removed, failed })) : retryPage(deps, jobs, 'api', task.id, task.by);

/**
 * Whether the task's action on `job` is done. A retry names the task in the
 * job's retries. A removal leaves nothing to name: a recorded job that is
 * gone counts as removed by the task, whoever removed it (the task was asked
 * to remove it, and it is removed: never more than the page holds).
 */
const doneByTask = (task: RetryTask, job: Job | undefined): boolean =>
  task.kind === 'remove' ? job === undefined : isRetriedByTask(job, task.id);

/**
 * Act on the task's recorded page and count each of its jobs once. A page just
 * listed is acted on as listed. A page recorded by a runner that died is read
 * again job by job: a job the task is done with counts as such (a retried job
 * whose runner died before sending its message waits with none, and the
 * reconciler sends one), a job still failed in the generation it was listed
 * in is acted on now (unless `retry` is false: a cancelled task leaves it
 * failed and uncounted), any other was changed by someone else.
 */
export const settlePage = async (
  deps: RetryAllDeps,
  task: RetryTask,
  listed: readonly Job[] | undefined,
  { retry = true }: { retry?: boolean } = {},
): Promise<Counts> => {
  const jobs = task.page?.jobs ?? [];
  if (listed) return listed.length > 0 ? actOn(deps, task, listed) : { retried: 0, failed: 0 };
  const current = await mapBounded(jobs, READS, ({ id }) => deps.store.get(id));
  let retried = 0;
  let failed = 0;
  const again: Job[] = [];
  jobs.forEach(({ generation }, i) => {
    const job = current[i];
    if (doneByTask(task, job)) retried++;
    else if (job?.state === 'failed' && job.generation === generation) again.push(job);
    else failed++;
  });
  if (!retry || again.length === 0) return { retried, failed };
  const result = await actOn(deps, task, again);
  return { retried: retried + result.retried, failed: failed + result.failed };
};

/** The jobs of a listing the task has not retried yet (a job it retried that failed again is not its to retry twice). */
export const unseen = (task: RetryTask, listing: Page<Job>): readonly Job[] =>
  listing.items.filter((job) => !isRetriedByTask(job, task.id));

/**
 * The changes that record `listing` as the task's next page, or end the task
 * when there is none (`undefined`: the limit is reached).
 */
export const nextPage = (task: RetryTask, listing: Page<Job> | undefined, at: number): Partial<RetryTask> => {
  if (!listing || (listing.items.length === 0 && !listing.cursor)) {
    return { page: undefined, status: 'COMPLETED', finishedAt: at, leaseUntil: undefined };
  }
  const jobs = unseen(task, listing).map(({ id, generation }) => ({ id, generation }));
  return { page: { jobs, ...(listing.cursor ? {} : { last: true as const }) }, cursor: listing.cursor };
};
