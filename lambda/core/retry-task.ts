import type { ResponseBody, retryTaskViewSchema, taskViewSchema } from './api-schemas';
import type { FailedJobFilter } from './failed-job-filter';
import type { Job } from './job';

/**
 * A retry-all run in the background, for sets too large for one request:
 * it walks the failed jobs matching its filter at `maxPerSecond`, keeps its
 * progress in the table after each page, and carries on from there in the
 * next chunk, whichever process runs it.
 *
 * Exact through a crash anywhere: each page is recorded in the task before
 * any of its jobs is touched, and each retry names the task in the job's
 * `retries`. Whoever resumes the task settles the recorded page job by job
 * before it lists another, so `retried` is the number of jobs whose retries
 * name the task, never more than `limit`, and `retried + failed` the number
 * of jobs it looked at, each once.
 *
 *   RUNNING ──► COMPLETED
 *      │  └──► FAILED (an error it could not get past)
 *      └─ cancel ─► CANCELLING ──► CANCELLED (jobs already retried stay retried)
 */
export const TASK_STATUSES = ['RUNNING', 'COMPLETED', 'CANCELLING', 'CANCELLED', 'FAILED'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** What a task does to each failed job it takes: retry it, or remove it. */
export type TaskKind = 'retry' | 'remove';

export interface RetryTask {
  readonly id: string;
  /** @default 'retry' (a retry task is stored without one) */
  readonly kind?: TaskKind;
  /** Who asked for it (see RetryRecord.by); each retry it makes names them too. */
  readonly by?: string;
  readonly status: TaskStatus;
  readonly filter: FailedJobFilter;
  /** Retry at most this many jobs. */
  readonly limit?: number;
  /** Jobs retried per second at most; unset, as fast as the table allows. */
  readonly maxPerSecond?: number;
  /** Matching failed jobs when the task started (the most it will retry). */
  readonly total: number;
  /** Jobs retried; for a remove task, jobs removed. */
  readonly retried: number;
  /** Jobs seen that could not be retried or removed (changed by someone else meanwhile, or unsent). */
  readonly failed: number;
  /** Where the listing goes on after `page` (or after the last page, when none is recorded); absent before the first. */
  readonly cursor?: string;
  /** The page under way, recorded before any of its jobs was retried; absent between chunks. */
  readonly page?: TaskPage;
  readonly startedAt: number;
  readonly updatedAt: number;
  readonly finishedAt?: number;
  /** Whoever runs a chunk holds the task until then; a runner that died lets it go by itself. */
  readonly leaseUntil?: number;
  /** Bumped by every write: a runner writes only over the version it read. */
  readonly version: number;
  readonly error?: string;
}

/**
 * One page of a task, as it was listed: at most 500 jobs, some 25 KB of the
 * task's item with UUIDs and 80 KB at most (an id is at most 128
 * characters), under DynamoDB's 400 KB.
 */
export interface TaskPage {
  /** Each job's id and the generation it was listed failed in. */
  readonly jobs: readonly { readonly id: string; readonly generation: number }[];
  /** The listing ends with this page. */
  readonly last?: true;
}

/** Whether `job`'s retries name the task: each job counts once in `retried` of the task that retried it. */
export const isRetriedByTask = (job: Job | undefined, taskId: string): boolean =>
  job?.retries.some((record) => record.taskId === taskId) ?? false;

/** What `GET /jobs/retry-tasks/:taskId` shows: a remove task says `removed` where a retry task says `retried`. */
export const toTaskView = (task: RetryTask): ResponseBody<typeof taskViewSchema> => {
  const common: Omit<ResponseBody<typeof retryTaskViewSchema>, 'kind' | 'retried'> = {
    taskId: task.id,
    status: task.status,
    failed: task.failed,
    total: task.total,
    startedAt: task.startedAt,
    updatedAt: task.updatedAt,
    finishedAt: task.finishedAt ?? null,
    filter: task.filter,
    limit: task.limit ?? null,
    maxPerSecond: task.maxPerSecond ?? null,
    error: task.error ?? null,
    by: task.by ?? null,
  };
  return task.kind === 'remove' ? { kind: 'remove', removed: task.retried, ...common } : { kind: 'retry', retried: task.retried, ...common };
};

export const isFinished = (status: TaskStatus): boolean =>
  status === 'COMPLETED' || status === 'CANCELLED' || status === 'FAILED';
