import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { StateConflictError } from './errors';
import type { FailedJobFilter } from './failed-job-filter';
import type { Job } from './job';
import type { JobQueue, JobStore, Page, RetryTaskStore, TaskQueue } from './ports';
import { isStaleCopy, readAhead, retryPage } from './retry-all-failed-jobs';
import { isFinished, type RetryTask, type TaskStatus } from './retry-task';

export interface TaskDeps {
  readonly store: JobStore;
  readonly queue: JobQueue;
  readonly tasks: RetryTaskStore;
  readonly taskQueue: TaskQueue;
  readonly now?: () => number;
  /** @default timers/promises setTimeout */
  readonly wait?: (ms: number) => Promise<unknown>;
}

/** Jobs read and retried per step (also the most a step overshoots `maxPerSecond` in its first second). */
const PAGE = 100;
/** A chunk's lease outlasts its time budget by this much, for the last page's writes. */
const LEASE_MARGIN_MS = 30_000;

export interface StartTaskRequest {
  readonly filter: FailedJobFilter;
  readonly limit?: number;
  readonly maxPerSecond?: number;
}

/**
 * Record a task and wake a runner. The task is in the table before anything
 * runs: if the wake-up message is lost, the reconciler starts it instead.
 */
export const startRetryTask = async (
  { tasks, taskQueue, now = Date.now }: Pick<TaskDeps, 'tasks' | 'taskQueue' | 'now'>,
  request: StartTaskRequest,
  total: number,
): Promise<RetryTask> => {
  const at = now();
  const task: RetryTask = {
    id: randomUUID(),
    status: 'RUNNING',
    filter: request.filter,
    limit: request.limit,
    maxPerSecond: request.maxPerSecond,
    total,
    retried: 0,
    failed: 0,
    startedAt: at,
    updatedAt: at,
    version: 0,
  };
  await tasks.createTask(task);
  await taskQueue.sendTask(task.id).catch(() => undefined); // the reconciler picks it up
  return task;
};

/** Ask a running task to stop; it stops at its next page. */
export const cancelRetryTask = async ({ tasks, now = Date.now }: Pick<TaskDeps, 'tasks' | 'now'>, task: RetryTask) => {
  const next: RetryTask = { ...task, status: 'CANCELLING', updatedAt: now(), version: task.version + 1 };
  await tasks.saveTask(next, task.version, ['RUNNING']);
  return next;
};

/**
 * Clear the dead-letter copies of the jobs a task retried, once it ends
 * (completed or cancelled). Every message the queue holds is looked at once:
 * with a filter, or a cancel part way, the stale copies sit among copies of
 * jobs still failed, in no order the task knows.
 */
const sweepRetried = async ({ queue, store }: TaskDeps, retried: number): Promise<void> => {
  if (retried === 0) return;
  try {
    const { deadLetter } = await queue.depths();
    await queue.sweepDeadLetters((m) => isStaleCopy(store, m), Math.max(retried, deadLetter.visible));
  } catch {
    // the copies stay: a retry of one skips them, a later task's sweep clears them
  }
};

const write = async (tasks: RetryTaskStore, task: RetryTask, changes: Partial<RetryTask>, statuses?: TaskStatus[]) => {
  const next: RetryTask = { ...task, ...changes, version: task.version + 1 };
  await tasks.saveTask(next, task.version, statuses);
  return next;
};

/**
 * Run one chunk of a task, for about `budgetMs`: page after page of failed
 * jobs retried, progress saved after each page, at no more than
 * `maxPerSecond`. Resolves 'continue' when there is more to do (the caller
 * wakes the next chunk) and 'done' otherwise, including when another runner
 * holds the task.
 */
export const runRetryTaskChunk = async (deps: TaskDeps, taskId: string, budgetMs: number): Promise<'continue' | 'done'> => {
  const { tasks, store, now = Date.now, wait = sleep } = deps;
  let task = await tasks.getTask(taskId);
  if (!task || isFinished(task.status)) return 'done';
  const start = now();
  try {
    if (task.status === 'CANCELLING') {
      await write(tasks, task, { status: 'CANCELLED', finishedAt: start, updatedAt: start, leaseUntil: undefined });
      await sweepRetried(deps, task.retried);
      return 'done';
    }
    if ((task.leaseUntil ?? 0) > start) return 'done';
    task = await write(tasks, task, { leaseUntil: start + budgetMs + LEASE_MARGIN_MS }, ['RUNNING']);
  } catch (error) {
    if (error instanceof StateConflictError) return 'done'; // another runner got there first
    throw error;
  }

  const { filter, maxPerSecond } = task;
  const pageSize = (left: number) => Math.max(0, Math.min(PAGE, maxPerSecond ?? PAGE, left));
  const read = (size: number, cursor: string | undefined): Promise<Page<Job>> =>
    size > 0 ? readAhead(store.listFailed(filter, size, cursor)) : Promise.resolve({ items: [], cursor: undefined });
  let left = (task.limit ?? Number.POSITIVE_INFINITY) - task.retried - task.failed;
  // the pace: `paced` jobs since `paceFrom` may take no less than paced / maxPerSecond seconds
  let paceFrom = start;
  let paced = 0;
  let reading = read(pageSize(left), task.cursor);
  for (;;) {
    const page = await reading;
    left -= page.items.length;
    // the next page is read while this one is retried; its cursor is saved only after this page's writes
    const nextSize = page.cursor ? pageSize(left) : 0;
    if (nextSize > 0) reading = read(nextSize, page.cursor);
    const result = page.items.length > 0 ? await retryPage(deps, page.items) : { retried: 0, failed: 0 };
    paced += page.items.length;
    const finished = !page.cursor || left <= 0;
    if (maxPerSecond && !finished) {
      // keep to the velocity. Waited in full, past the budget too: the next chunk starts with a page at once, so
      // cutting this wait short would let two pages through together at every chunk's edge. A page slower than
      // its share is not made up for: the pace starts again from now, or the pages after it would go through
      // faster than maxPerSecond until they had caught up.
      const ahead = (paced / maxPerSecond) * 1000 - (now() - paceFrom);
      if (ahead > 0) {
        await wait(ahead);
      } else {
        paceFrom = now();
        paced = 0;
      }
    }
    const at = now();
    const outOfTime = at - start >= budgetMs;
    const progress: Partial<RetryTask> = {
      retried: task.retried + result.retried,
      failed: task.failed + result.failed,
      cursor: page.cursor,
      updatedAt: at,
      ...(finished ? { status: 'COMPLETED' as const, finishedAt: at, leaseUntil: undefined } : {}),
      // the next chunk may start at once
      ...(!finished && outOfTime ? { leaseUntil: undefined } : {}),
    };
    try {
      task = await write(tasks, task, progress, ['RUNNING']);
    } catch (error) {
      if (!(error instanceof StateConflictError)) throw error;
      // cancelled meanwhile: this page is done, the rest stays failed
      const current = await tasks.getTask(taskId);
      if (current?.status === 'CANCELLING') {
        const cancelled = await write(tasks, current, {
          ...progress,
          status: 'CANCELLED',
          finishedAt: at,
          leaseUntil: undefined,
        }).catch(() => undefined);
        if (cancelled) await sweepRetried(deps, cancelled.retried);
      }
      return 'done';
    }
    if (finished) {
      await sweepRetried(deps, task.retried);
      return 'done';
    }
    if (outOfTime) return 'continue';
  }
};

/**
 * The reconciler's part: wake a runner for each open task whose runner died
 * (its lease ended before `now`). After a restart of the local runtime no
 * runner can be alive, so `everyOpenTask` takes them all and ends their leases.
 */
export const resumeAbandonedTasks = async (
  { tasks, taskQueue, now = Date.now }: Pick<TaskDeps, 'tasks' | 'taskQueue' | 'now'>,
  { everyOpenTask = false }: { everyOpenTask?: boolean } = {},
): Promise<number> => {
  const abandoned = await tasks.listAbandonedTasks(everyOpenTask ? Number.MAX_SAFE_INTEGER : now());
  for (const task of abandoned) {
    if (task.leaseUntil !== undefined) {
      await write(tasks, task, { leaseUntil: undefined }).catch((error: unknown) => {
        if (!(error instanceof StateConflictError)) throw error;
      });
    }
    await taskQueue.sendTask(task.id);
  }
  return abandoned.length;
};
