import type { ApiClient } from './api-client';
import { doneOf, taskProgress } from '../dashboard/app/task-progress';
import { formatDuration, plural } from './format';

/** A retry or remove task as `GET /jobs/retry-tasks/{taskId}` shows it. */
export interface TaskView {
  readonly taskId: string;
  readonly kind: 'retry' | 'remove';
  readonly status: 'RUNNING' | 'COMPLETED' | 'CANCELLING' | 'CANCELLED' | 'FAILED';
  readonly retried?: number;
  readonly removed?: number;
  readonly failed: number;
  readonly total: number;
  readonly startedAt: number;
  readonly updatedAt: number;
  readonly finishedAt: number | null;
  readonly limit: number | null;
  readonly maxPerSecond: number | null;
  readonly error: string | null;
  readonly by: string | null;
}

export const isFinished = (task: TaskView): boolean => ['COMPLETED', 'CANCELLED', 'FAILED'].includes(task.status);

const BAR_WIDTH = 24;

/** `[██████████░░░░░░░░░░░░░░]  42%  84/200 (84 retried, 0 failed) · 41.9 jobs/s · ETA 2.8 s`. */
export const progressLine = (task: TaskView): string => {
  const { done, seen, target, fraction, perSecond, remainingMs } = taskProgress(task);
  const filled = Math.round(fraction * BAR_WIDTH);
  const bar = `[${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}]`;
  const verb = task.kind === 'remove' ? 'removed' : 'retried';
  const parts = [
    `${bar} ${String(Math.floor(fraction * 100)).padStart(3)}%`,
    `${seen}/${target} (${done} ${verb}, ${task.failed} failed)`,
    perSecond === undefined ? 'rate -' : `${perSecond.toFixed(perSecond < 10 ? 1 : 0)} jobs/s`,
  ];
  if (isFinished(task)) parts.push(task.status);
  else parts.push(remainingMs === undefined ? 'ETA -' : `ETA ${formatDuration(remainingMs)}`);
  return `${parts[0]}  ${parts.slice(1).join(' · ')}`;
};

/** What a finished task did, in one sentence. */
export const summaryLine = (task: TaskView): string => {
  const verb = task.kind === 'remove' ? 'removed' : 'retried';
  const took = task.finishedAt === null ? '' : ` in ${formatDuration(task.finishedAt - task.startedAt)}`;
  const error = task.error ? `: ${task.error}` : '';
  return `Task ${task.taskId} ${task.status}${took}: ${plural(doneOf(task), 'job')} ${verb}, ${task.failed} failed, of ${task.total} matching${error}`;
};

export interface WatchOptions {
  /** Where the bar goes: stderr, so stdout keeps the result alone. */
  readonly out: NodeJS.WriteStream;
  readonly intervalMs?: number;
}

export type WatchOutcome = { readonly task: TaskView; readonly interrupted: boolean };

/**
 * Poll the task and redraw its bar until it ends, or until Ctrl-C: that
 * stops the watching only, never the task (a cancel is its own command).
 * On a terminal the bar is redrawn in place; elsewhere (a log, a pipe) each
 * change of progress is a line of its own.
 */
export const watchTask = async (client: ApiClient, taskId: string, options: WatchOptions): Promise<WatchOutcome> => {
  const { out } = options;
  const intervalMs = options.intervalMs ?? 1_000;
  const path = `/jobs/retry-tasks/${encodeURIComponent(taskId)}`;
  let interrupted = false;
  let wake: (() => void) | undefined;
  const onInterrupt = () => {
    interrupted = true;
    wake?.();
  };
  process.once('SIGINT', onInterrupt);
  let lastLine = '';
  let lastProgress = '';
  try {
    for (;;) {
      const task = (await client.call('GET', path)).body as TaskView;
      const line = progressLine(task);
      if (out.isTTY) {
        if (line !== lastLine) out.write(`\r${line}\x1b[K`);
      } else {
        // a new line only when the counts or the status moved, not for every poll
        const progress = `${doneOf(task)}/${task.failed}/${task.status}`;
        if (progress !== lastProgress) out.write(`${line}\n`);
        lastProgress = progress;
      }
      lastLine = line;
      if (isFinished(task) || interrupted) {
        if (out.isTTY) out.write('\n');
        return { task, interrupted: interrupted && !isFinished(task) };
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, intervalMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    process.off('SIGINT', onInterrupt);
  }
};
