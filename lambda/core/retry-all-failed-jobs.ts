import type { FailedJobFilter } from './failed-job-filter';
import type { Job, JobMessage, RetrySource } from './job';
import type { JobQueue, JobStore } from './ports';
import { isRetriedByTask } from './retry-task';
import { claimRetry, revertUnsent } from './retry-failed-job';
import { isStaleCopy } from './sweep-stale-dead-letters';

export interface RetryAllOptions {
  /** Which failed jobs. @default every failed job */
  readonly filter?: FailedJobFilter;
  /** Retry at most this many (the most recently failed first). */
  readonly limit?: number;
  /** Count the jobs that would be retried and change nothing. */
  readonly dryRun?: boolean;
  /** Who asked, named in each retry. */
  readonly by?: string;
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

/** Jobs claimed and then sent together: one SendMessageBatch holds at most 10 messages. */
const SEND_BATCH = 10;

/**
 * Retry one page of failed jobs, in batches of 10 (several batches at once,
 * about `concurrency` writes in flight): a conditional failed → waiting write
 * for each job of a batch, then the batch's messages in one send, while the
 * other batches write; a job whose message could not be sent is put back as
 * it was. A job retried by someone else in the meantime loses the write:
 * counted as not retried, never run twice.
 *
 * With `taskId`, each retry names the task, and a job is counted by what it
 * is afterwards: retried when its retries name the task (a write of ours
 * that failed may have landed, or another runner of the task got there
 * first), not retried otherwise. A job that cannot be read then rejects the
 * page: the task has it recorded and settles it when it resumes.
 */
export const retryPage = async (
  { store, queue, now = Date.now, concurrency = 32 }: RetryAllDeps,
  jobs: readonly Job[],
  source: RetrySource = 'api',
  taskId?: string,
  by?: string,
): Promise<{ retried: number; failed: number }> => {
  const batches: Job[][] = [];
  for (let i = 0; i < jobs.length; i += SEND_BATCH) batches.push(jobs.slice(i, i + SEND_BATCH));
  const retriedPerBatch = await mapBounded(batches, Math.max(1, Math.ceil(concurrency / SEND_BATCH)), async (batch) => {
    const pairs: { before: Job; after: Job }[] = [];
    let retriedByTask = 0;
    await Promise.all(
      batch.map(async (job) => {
        try {
          pairs.push({ before: job, after: (await claimRetry(store, job, now(), source, taskId, by === undefined ? {} : { by })).next });
        } catch {
          if (taskId !== undefined && isRetriedByTask(await store.get(job.id), taskId)) retriedByTask++;
        }
      }),
    );
    if (pairs.length === 0) return retriedByTask;
    const messages: JobMessage[] = pairs.map(({ after }) => ({ jobId: after.id, generation: after.generation }));
    const unsentIds = new Set((await queue.send(messages)).map((message) => message.jobId));
    const reverted = await revertUnsent(store, pairs.filter(({ after }) => unsentIds.has(after.id)));
    return retriedByTask + pairs.length - reverted;
  });
  const retried = retriedPerBatch.reduce((sum, n) => sum + n, 0);
  return { retried, failed: jobs.length - retried };
};

/**
 * A read started before it is awaited: its failure, if any, is the awaiter's
 * to handle, not an unhandled rejection while other work goes on.
 */
export const readAhead = <T>(read: Promise<T>): Promise<T> => {
  read.catch(() => undefined);
  return read;
};

/**
 * Every failed job matching the options, page by page; `visit` sees each page
 * once. The next page is read while `visit` works on the current one.
 */
export const forEachFailedPage = async (
  store: JobStore,
  { filter = {}, limit = Number.POSITIVE_INFINITY }: RetryAllOptions,
  pageSize: number,
  visit: (jobs: readonly Job[]) => Promise<void>,
): Promise<number> => {
  let seen = 0;
  let reading = readAhead(store.listFailed(filter, Math.min(pageSize, limit), undefined));
  for (;;) {
    const page = await reading;
    seen += page.items.length;
    const more = page.cursor !== undefined && seen < limit;
    if (more) reading = readAhead(store.listFailed(filter, Math.min(pageSize, limit - seen), page.cursor));
    if (page.items.length > 0) await visit(page.items);
    if (!more) return seen;
  }
};

export const retryAllFailedJobs = async (deps: RetryAllDeps, options: RetryAllOptions = {}): Promise<RetryAllResult> => {
  let retried = 0;
  const pageSize = deps.pageSize ?? 100;
  const total = await forEachFailedPage(deps.store, options, pageSize, async (jobs) => {
    if (options.dryRun) return;
    retried += (await retryPage(deps, jobs, 'api', undefined, options.by)).retried;
  });
  if (retried > 0) {
    // their copies in the dead-letter queue are stale now; clear them so its depth means something
    await deps.queue.sweepDeadLetters((message) => isStaleCopy(deps.store, message), retried * 2);
  }
  return { retriedCount: retried, failedCount: options.dryRun ? 0 : total - retried, total };
};
