import type { RetryAllRequest } from './retry-all-request';
import type { JobStore } from './ports';

/** More failed jobs than this are retried or removed by a background task: a request would take too long. */
export const SYNC_BULK_LIMIT = 1000;

/** How a retry-all or remove-all request is carried out, and over how many jobs. */
export type BulkPlan =
  | { readonly run: 'dry-run'; readonly total: number }
  | { readonly run: 'task'; readonly total: number }
  | { readonly run: 'now' };

/**
 * A dry run counts; a request that asks for a task, or matches more than
 * SYNC_BULK_LIMIT jobs, runs as one (counted in full, for its progress);
 * anything else runs in the request. Only as many jobs are counted as the
 * choice needs.
 */
export const planBulkOperation = async (store: Pick<JobStore, 'countFailed'>, request: RetryAllRequest): Promise<BulkPlan> => {
  const cap = request.limit ?? Number.POSITIVE_INFINITY;
  const matching = await store.countFailed(request.filter, request.async || request.dryRun ? undefined : SYNC_BULK_LIMIT + 1);
  if (request.dryRun) return { run: 'dry-run', total: Math.min(matching, cap) };
  if (request.async || Math.min(matching, cap) > SYNC_BULK_LIMIT) {
    return { run: 'task', total: Math.min(request.async ? matching : await store.countFailed(request.filter), cap) };
  }
  return { run: 'now' };
};
