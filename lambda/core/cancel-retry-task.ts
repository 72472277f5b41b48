import { StateConflictError, TaskNotFoundError, TaskNotRunningError } from './errors';
import type { RetryTaskStore } from './ports';
import type { RetryTask } from './retry-task';

/** Cancel writes tried while a runner's checkpoints keep winning the race for the task's version. */
const MAX_TRIES = 11;

/**
 * Ask a running task to stop; its runner ends it at its next page. The
 * write is over the version read, and a runner saves its progress after
 * every page: a cancel that loses to such a save reads the task again and
 * tries again.
 */
export const cancelRetryTask = async (
  { tasks, now = Date.now }: { readonly tasks: RetryTaskStore; readonly now?: () => number },
  taskId: string,
): Promise<RetryTask> => {
  for (let tries = 1; ; tries++) {
    const task = await tasks.getTask(taskId);
    if (!task) throw new TaskNotFoundError(taskId);
    if (task.status !== 'RUNNING') throw new TaskNotRunningError(taskId, task.status);
    const next: RetryTask = { ...task, status: 'CANCELLING', updatedAt: now(), version: task.version + 1 };
    try {
      await tasks.saveTask(next, task.version, ['RUNNING']);
      return next;
    } catch (error) {
      if (!(error instanceof StateConflictError) || tries >= MAX_TRIES) throw error;
    }
  }
};
