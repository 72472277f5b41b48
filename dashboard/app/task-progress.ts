/**
 * How far a retry or remove task has come, as both the dashboard's task cards
 * and `requeue task --watch` tell it. It lives with the browser code so that
 * the dashboard's typecheck (no Node types) keeps it free of anything the
 * browser lacks; the CLI bundles it as it is.
 */

/** The fields of a task, as `GET /jobs/retry-tasks/{taskId}` shows it, its progress is worked out from. */
export interface TaskCounts {
  readonly kind: 'retry' | 'remove';
  readonly retried?: number;
  readonly removed?: number;
  readonly failed: number;
  readonly total: number;
  readonly limit: number | null;
  readonly startedAt: number;
  readonly updatedAt: number;
  readonly finishedAt: number | null;
}

export interface TaskProgress {
  /** Jobs the task retried or removed. */
  readonly done: number;
  /** Jobs it has dealt with: done, or could not be. */
  readonly seen: number;
  /** The most it will deal with: its `limit` may stop it before `total`. */
  readonly target: number;
  /** `seen` of `target`, from 0 to 1; 1 for a task with nothing to do. */
  readonly fraction: number;
  /** Jobs dealt with a second, undefined before the first. */
  readonly perSecond?: number;
  /** Milliseconds left at that rate, undefined without a rate. */
  readonly remainingMs?: number;
}

/** Jobs the task retried or removed. */
export const doneOf = (task: Pick<TaskCounts, 'kind' | 'retried' | 'removed'>): number =>
  (task.kind === 'remove' ? task.removed : task.retried) ?? 0;

/**
 * The rate is the task's own, over its life from its start to its last
 * progress, both on the server's clock: it says the same on every machine,
 * and stays steady where two samples a second apart would jump about.
 */
export const taskProgress = (task: TaskCounts): TaskProgress => {
  const done = doneOf(task);
  const seen = done + task.failed;
  const target = Math.min(task.total, task.limit ?? Number.POSITIVE_INFINITY);
  const fraction = target === 0 ? 1 : Math.min(1, seen / target);
  const elapsedMs = (task.finishedAt ?? task.updatedAt) - task.startedAt;
  if (seen === 0 || elapsedMs <= 0) return { done, seen, target, fraction };
  const perSecond = (seen * 1_000) / elapsedMs;
  return { done, seen, target, fraction, perSecond, remainingMs: ((target - seen) / perSecond) * 1_000 };
};
