import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { cutToBytes } from './byte-budget';
import { StateConflictError } from './errors';
import { BUDGETS } from './limits';
import type { FailedJobFilter } from './failed-job-filter';
import type { Job } from './job';
import type { JobQueue, JobStore, Page, RetryTaskStore, TaskQueue } from './ports';
import { readAhead } from './retry-all-failed-jobs';
import { isFinished, type RetryTask, type TaskKind, type TaskStatus } from './retry-task';
import { nextPage, settlePage, unseen } from './retry-task-page';
import { isStaleCopy } from './sweep-stale-dead-letters';

export interface TaskDeps {
  readonly store: JobStore;
  readonly queue: JobQueue;
  readonly tasks: RetryTaskStore;
  readonly taskQueue: TaskQueue;
  readonly now?: () => number;
  /** @default timers/promises setTimeout */
  readonly wait?: (ms: number) => Promise<unknown>;
}

/**
 * Jobs read and retried per step. Each step pays a Query of every index
 * shard and a save of the task whatever its size, so an unpaced task takes
 * large steps; a paced one no larger than PACED_PAGE, which is also the most
 * a step overshoots `maxPerSecond` in its first second.
 */
const PAGE = 500;
const PACED_PAGE = 100;
/** A chunk's lease outlasts its time budget by this much, for the last page's writes. */
const LEASE_MARGIN_MS = 30_000;

export interface StartTaskRequest {
  /** @default 'retry' */
  readonly kind?: TaskKind;
  readonly filter: FailedJobFilter;
  readonly limit?: number;
  readonly maxPerSecond?: number;
  /** Who asked for the task. */
  readonly by?: string;
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
    ...(request.kind === 'remove' ? { kind: 'remove' as const } : {}),
    ...(request.by !== undefined ? { by: cutToBytes(request.by, BUDGETS.actorBytes) } : {}),
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
 * `maxPerSecond`. Each page is recorded in the task before its jobs are
 * touched, in the same write that saves the progress of the page before it,
 * and a chunk first settles the page a dead runner left (see settlePage).
 * Resolves 'continue' when there is more to do (the caller wakes the next
 * chunk) and 'done' otherwise, including when another runner holds the task.
 */
export const runRetryTaskChunk = async (deps: TaskDeps, taskId: string, budgetMs: number): Promise<'continue' | 'done'> => {
  const { tasks, store, now = Date.now, wait = sleep } = deps;
  let task = await tasks.getTask(taskId);
  if (!task || isFinished(task.status)) return 'done';
  const start = now();
  try {
    if (task.status === 'CANCELLING') {
      // the recorded page's jobs this task retried stay retried and are counted; the rest stay failed
      const settled = await settlePage(deps, task, undefined, { retry: false });
      const cancelled = await write(tasks, task, {
        retried: task.retried + settled.retried,
        failed: task.failed + settled.failed,
        page: undefined,
        status: 'CANCELLED',
        finishedAt: start,
        updatedAt: start,
        leaseUntil: undefined,
      });
      await sweepRetried(deps, cancelled.retried);
      return 'done';
    }
    if ((task.leaseUntil ?? 0) > start) return 'done';
    task = await write(tasks, task, { leaseUntil: start + budgetMs + LEASE_MARGIN_MS }, ['RUNNING']);
  } catch (error) {
    if (error instanceof StateConflictError) return 'done'; // another runner got there first
    throw error;
  }

  const { filter, maxPerSecond } = task;
  const limit = task.limit ?? Number.POSITIVE_INFINITY;
  const pageSize = (left: number) =>
    Math.max(0, Math.min(maxPerSecond === undefined ? PAGE : Math.min(PACED_PAGE, maxPerSecond), left));
  const read = (size: number, cursor: string | undefined): Promise<Page<Job> | undefined> =>
    size > 0 ? readAhead(store.listFailed(filter, size, cursor)) : Promise.resolve(undefined);

  /**
   * Save `changes` over the task as this runner read it. Resolves false when
   * it changed meanwhile: cancelled (then ended here, with the counts of
   * `changes` and no page, as the next one was not touched) or taken over.
   */
  const save = async (changes: Partial<RetryTask>): Promise<boolean> => {
    try {
      task = await write(tasks, task!, changes, ['RUNNING']);
      return true;
    } catch (error) {
      if (!(error instanceof StateConflictError)) throw error;
      const current = await tasks.getTask(taskId);
      if (current?.status === 'CANCELLING') {
        const at = changes.updatedAt ?? now();
        const cancelled = await write(tasks, current, {
          retried: changes.retried ?? current.retried,
          failed: changes.failed ?? current.failed,
          page: undefined,
          status: 'CANCELLED',
          finishedAt: at,
          updatedAt: at,
          leaseUntil: undefined,
        }).catch(() => undefined); // still CANCELLING: the next chunk ends it
        if (cancelled) await sweepRetried(deps, cancelled.retried);
      }
      return false;
    }
  };

  // the jobs of the recorded page as just listed; undefined when a runner before this one recorded it
  let listed: readonly Job[] | undefined;
  if (!task.page) {
    const listing = await read(pageSize(limit - task.retried - task.failed), task.cursor);
    if (!(await save({ ...nextPage(task, listing, now()), updatedAt: now() }))) return 'done';
    if (task.status === 'COMPLETED') {
      await sweepRetried(deps, task.retried);
      return 'done';
    }
    listed = listing && unseen(task, listing);
  }

  // the pace: `paced` jobs since `paceFrom` may take no less than paced / maxPerSecond seconds
  let paceFrom = start;
  let paced = 0;
  for (;;) {
    const page = task.page!;
    const left = limit - task.retried - task.failed - page.jobs.length;
    // the next page is read while this one is retried, and recorded with this one's progress
    const reading = page.last ? Promise.resolve(undefined) : read(pageSize(left), task.cursor);
    const result = await settlePage(deps, task, listed);
    paced += page.jobs.length;
    const finished = page.last === true || left <= 0;
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
    const progress = { retried: task.retried + result.retried, failed: task.failed + result.failed, updatedAt: at };
    let changes: Partial<RetryTask>;
    if (finished) {
      changes = { ...progress, page: undefined, status: 'COMPLETED', finishedAt: at, leaseUntil: undefined };
    } else if (outOfTime) {
      // no page recorded: the next chunk lists one afresh from the cursor, and may start at once
      changes = { ...progress, page: undefined, leaseUntil: undefined };
    } else {
      const listing = await reading;
      changes = { ...progress, ...nextPage(task, listing, at) };
      listed = listing && unseen(task, listing);
    }
    if (!(await save(changes))) return 'done';
    if (task.status === 'COMPLETED') {
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
