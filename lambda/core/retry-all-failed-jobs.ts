import type { FailedJobFilter } from './failed-job-filter';
import type { Job, JobMessage, RetrySource } from './job';
import type { JobQueue, JobStore } from './ports';
import { claimRetry, revertUnsent } from './retry-failed-job';

export interface RetryAllOptions {
  /** Which failed jobs. @default every failed job */
  readonly filter?: FailedJobFilter;
  /** Retry at most this many (the most recently failed first). */
  readonly limit?: number;
  /** Count the jobs that would be retried and change nothing. */
  readonly dryRun?: boolean;
}

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
  /** Conditional writes in flight at once. @default 32 */
  readonly concurrency?: number;
  /** Failed jobs read per page. @default 100 */
  readonly pageSize?: number;
}

/** Run `fn` over `items`, at most `limit` at a time. */
export const mapBounded = async <T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> => {
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
 * Retry one page of failed jobs: a conditional failed → waiting write for
 * each (bounded concurrency), then their messages in batches; a job whose
 * message could not be sent is put back as it was. A job retried by someone
 * else in the meantime loses the write: counted as not retried, never run twice.
 */
export const retryPage = async (
  { store, queue, now = Date.now, concurrency = 32 }: RetryAllDeps,
  jobs: readonly Job[],
  source: RetrySource = 'api',
): Promise<{ retried: number; failed: number }> => {
  const claimed = await mapBounded(jobs, concurrency, async (job) => {
    try {
      return { before: job, after: (await claimRetry(store, job, now(), source)).next };
    } catch {
      return undefined;
    }
  });
  const pairs = claimed.filter((pair): pair is { before: Job; after: Job } => pair !== undefined);
  const messages: JobMessage[] = pairs.map(({ after }) => ({ jobId: after.id, generation: after.generation }));
  const unsentIds = new Set((await queue.send(messages)).map((message) => message.jobId));
  await revertUnsent(store, pairs.filter(({ after }) => unsentIds.has(after.id)));
  const retried = pairs.length - unsentIds.size;
  return { retried, failed: jobs.length - retried };
};

/** Every failed job matching the options, page by page; `visit` sees each page once. */
export const forEachFailedPage = async (
  store: JobStore,
  { filter = {}, limit = Number.POSITIVE_INFINITY }: RetryAllOptions,
  pageSize: number,
  visit: (jobs: readonly Job[]) => Promise<void>,
): Promise<number> => {
  let seen = 0;
  let cursor: string | undefined;
  do {
    const page = await store.listFailed(filter, Math.min(pageSize, limit - seen), cursor);
    cursor = page.cursor;
    seen += page.items.length;
    if (page.items.length > 0) await visit(page.items);
  } while (cursor && seen < limit);
  return seen;
};

/** Dead-letter copies of jobs that are no longer failed in that generation: safe to delete. */
export const isStaleCopy = async (store: JobStore, message: JobMessage): Promise<boolean> => {
  const job = await store.get(message.jobId);
  return !job || job.generation !== message.generation || job.state !== 'failed';
};

export const retryAllFailedJobs = async (deps: RetryAllDeps, options: RetryAllOptions = {}): Promise<RetryAllResult> => {
  let retried = 0;
  const pageSize = deps.pageSize ?? 100;
  const total = await forEachFailedPage(deps.store, options, pageSize, async (jobs) => {
    if (options.dryRun) return;
    retried += (await retryPage(deps, jobs)).retried;
  });
  if (retried > 0) {
    // their copies in the dead-letter queue are stale now; clear them so its depth means something
    await deps.queue.sweepDeadLetters((message) => isStaleCopy(deps.store, message), retried * 2);
  }
  return { retriedCount: retried, failedCount: options.dryRun ? 0 : total - retried, total };
};
