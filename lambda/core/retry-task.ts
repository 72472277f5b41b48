import type { FailedJobFilter } from './failed-job-filter';

/**
 * A retry-all run in the background, for sets too large for one request:
 * it walks the failed jobs matching its filter at `maxPerSecond`, keeps its
 * progress in the table after each page, and carries on from there in the
 * next chunk, whichever process runs it.
 *
 *   RUNNING ──► COMPLETED
 *      │  └──► FAILED (an error it could not get past)
 *      └─ cancel ─► CANCELLING ──► CANCELLED (jobs already retried stay retried)
 */
export const TASK_STATUSES = ['RUNNING', 'COMPLETED', 'CANCELLING', 'CANCELLED', 'FAILED'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export interface RetryTask {
  readonly id: string;
  readonly status: TaskStatus;
  readonly filter: FailedJobFilter;
  /** Retry at most this many jobs. */
  readonly limit?: number;
  /** Jobs retried per second at most; unset, as fast as the table allows. */
  readonly maxPerSecond?: number;
  /** Matching failed jobs when the task started (the most it will retry). */
  readonly total: number;
  readonly retried: number;
  /** Jobs seen that could not be retried (retried by someone else meanwhile, or unsent). */
  readonly failed: number;
  /** Where the next page starts; absent before the first. */
  readonly cursor?: string;
  readonly startedAt: number;
  readonly updatedAt: number;
  readonly finishedAt?: number;
  /** Whoever runs a chunk holds the task until then; a runner that died lets it go by itself. */
  readonly leaseUntil?: number;
  /** Bumped by every write: a runner writes only over the version it read. */
  readonly version: number;
  readonly error?: string;
}

/** What `GET /jobs/retry-tasks/:taskId` shows. */
export const toTaskView = (task: RetryTask) => ({
  taskId: task.id,
  status: task.status,
  retried: task.retried,
  failed: task.failed,
  total: task.total,
  startedAt: task.startedAt,
  updatedAt: task.updatedAt,
  finishedAt: task.finishedAt ?? null,
  filter: task.filter,
  limit: task.limit ?? null,
  maxPerSecond: task.maxPerSecond ?? null,
  error: task.error ?? null,
});

export const isFinished = (status: TaskStatus): boolean =>
  status === 'COMPLETED' || status === 'CANCELLED' || status === 'FAILED';
