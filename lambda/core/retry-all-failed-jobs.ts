import type { Job } from './job';
import type { JobQueue, JobStore } from './ports';
import { claimRetry, revertUnsent } from './retry-failed-job';

export interface RetryAllResult {
  readonly retriedCount: number;
  /** Jobs seen failed that could not be retried (retried by someone else meanwhile, or unsent). */
  readonly failedCount: number;
  readonly total: number;
}

export interface RetryAllDeps {
  readonly store: JobStore;
  readonly queue: JobQueue;
  readonly now?: () => number;
  /** Conditional writes in flight at once. @default 16 */
  readonly concurrency?: number;
  /** Failed jobs read per page. @default 100 */
  readonly pageSize?: number;
}

/** Run `fn` over `items`, at most `limit` at a time. */
const mapBounded = async <T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> => {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  });
  await Promise.all(lanes);
  return results;
};

/**
 * Retry every job that is failed, page by page: each one a conditional
 * failed → waiting write, then its messages sent in batches. A job retried by
 * someone else in the meantime is counted as not retried, never run twice.
 */
export const retryAllFailedJobs = async ({
  store,
  queue,
  now = Date.now,
  concurrency = 16,
  pageSize = 100,
}: RetryAllDeps): Promise<RetryAllResult> => {
  let retried = 0;
  let total = 0;
  let cursor: string | undefined;
  do {
    const page = await store.listByState('failed', pageSize, cursor);
    cursor = page.cursor;
    total += page.items.length;
    const claimed = await mapBounded(page.items, concurrency, async (job) => {
      try {
        return { before: job, after: (await claimRetry(store, job, now(), 'api')).next };
      } catch {
        return undefined;
      }
    });
    const pairs = claimed.filter((pair): pair is { before: Job; after: Job } => pair !== undefined);
    const unsent = await queue.send(pairs.map(({ after }) => ({ jobId: after.id, generation: after.generation })));
    const unsentIds = new Set(unsent.map((message) => message.jobId));
    await revertUnsent(store, pairs.filter(({ after }) => unsentIds.has(after.id)));
    retried += pairs.length - unsentIds.size;
  } while (cursor);
  return { retriedCount: retried, failedCount: total - retried, total };
};
