import { planBulkOperation } from './plan-bulk-operation';
import type { JobQueue, JobStore, RetryTaskStore, TaskQueue } from './ports';
import { removeAllFailedJobs, type RemoveAllResult } from './remove-all-failed-jobs';
import { retryAllFailedJobs, type RetryAllResult } from './retry-all-failed-jobs';
import type { RetryAllRequest } from './retry-all-request';
import type { RetryTask, TaskKind } from './retry-task';
import { startRetryTask } from './run-retry-task';

/** What a retry-all or remove-all request came to: a count, a task started in the background, or the work done. */
export type BulkOutcome<R> =
  | { readonly run: 'dry-run'; readonly total: number }
  | { readonly run: 'task'; readonly task: RetryTask }
  | { readonly run: 'now'; readonly result: R };

export interface BulkDeps {
  readonly store: JobStore;
  readonly tasks: RetryTaskStore;
  readonly taskQueue: TaskQueue;
  readonly now?: () => number;
}

const runBulk = async <R>(
  deps: BulkDeps,
  request: RetryAllRequest,
  task: { readonly kind: TaskKind; readonly by: string },
  runNow: () => Promise<R>,
): Promise<BulkOutcome<R>> => {
  const plan = await planBulkOperation(deps.store, request);
  if (plan.run === 'dry-run') return plan;
  if (plan.run === 'task') return { run: 'task', task: await startRetryTask(deps, { ...request, ...task }, plan.total) };
  return { run: 'now', result: await runNow() };
};

/**
 * Retry the failed jobs `request` matches, on behalf of `by`: counted only
 * for a dry run, in a background task for a large set or when asked, in
 * the request otherwise (see planBulkOperation).
 */
export const retryAllFailed = (
  deps: BulkDeps & { readonly queue: JobQueue },
  request: RetryAllRequest,
  by: string,
): Promise<BulkOutcome<RetryAllResult>> =>
  runBulk(deps, request, { kind: 'retry', by }, () => retryAllFailedJobs(deps, { ...request, by }));

/** Remove the failed jobs `request` matches, on behalf of `by`, chosen as retryAllFailed chooses. */
export const removeAllFailed = (deps: BulkDeps, request: RetryAllRequest, by: string): Promise<BulkOutcome<RemoveAllResult>> =>
  runBulk(deps, request, { kind: 'remove', by }, () => removeAllFailedJobs(deps, request));
