import { isRecountId, runRecountChunk, type RecountDeps } from './recount-jobs';
import { runRetryTaskChunk, type TaskDeps } from './run-retry-task';

export type TaskChunkDeps = TaskDeps & RecountDeps;

/**
 * Run one chunk of the retry task or recount `taskId` names (the two share
 * the tasks queue, told apart by the id), for about `budgetMs`. A chunk with
 * more to do wakes the next one with one more message: no runner holds a
 * task between chunks, so any process may take it up.
 */
export const runTaskChunk = async (deps: TaskChunkDeps, taskId: string, budgetMs: number): Promise<'continue' | 'done'> => {
  const outcome = isRecountId(taskId) ? await runRecountChunk(deps, taskId, budgetMs) : await runRetryTaskChunk(deps, taskId, budgetMs);
  if (outcome === 'continue') await deps.taskQueue.sendTask(taskId);
  return outcome;
};
