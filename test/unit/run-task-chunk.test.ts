import { startRecount } from '../../lambda/core/recount-jobs';
import { runTaskChunk, type TaskChunkDeps } from '../../lambda/core/run-task-chunk';
import { startRetryTask } from '../../lambda/core/run-retry-task';
import { storeFailedJob } from '../support/job-fixtures';
import {
  Clock,
  MemoryJobQueue,
  MemoryJobStore,
  MemoryRecountStore,
  MemoryRetryTaskStore,
  MemoryTaskQueue,
} from '../support/memory-adapters';

const world = async (failed: number) => {
  const clock = new Clock();
  const store = new MemoryJobStore();
  const taskQueue = new MemoryTaskQueue();
  const deps: TaskChunkDeps = {
    store,
    queue: new MemoryJobQueue(clock, 30_000),
    tasks: new MemoryRetryTaskStore(),
    recounts: new MemoryRecountStore(),
    taskQueue,
    now: clock.now,
    wait: async (ms: number) => clock.advance(ms),
    sleep: async (ms: number) => clock.advance(ms),
  };
  for (let i = 0; i < failed; i++) await storeFailedJob(store, { id: `job-${i}`, failedAt: clock.now() - 1000 * (i + 1) });
  return { clock, store, taskQueue, deps };
};

describe('runTaskChunk', () => {
  it('runs a retry task chunk by chunk, a chunk with more to do waking the next with one message', async () => {
    const w = await world(3);
    const task = await startRetryTask(w.deps, { filter: {}, maxPerSecond: 1 }, 3);
    w.taskQueue.sent.length = 0;
    // one job a second, 1.5 s a chunk: the first chunk ends after its second page, the second takes the last
    expect(await runTaskChunk(w.deps, task.id, 1_500)).toBe('continue');
    expect(w.taskQueue.sent).toEqual([{ taskId: task.id }]);
    expect(await runTaskChunk(w.deps, task.id, 1_500)).toBe('done');
    expect(w.taskQueue.sent).toEqual([{ taskId: task.id }]);
    expect(await w.deps.tasks.getTask(task.id)).toMatchObject({ status: 'COMPLETED', retried: 3 });
    expect([...w.store.jobs.values()].map((job) => job.state)).toEqual(['waiting', 'waiting', 'waiting']);
  });

  it('runs a recount for an id that names one, and wakes nothing once it is done', async () => {
    const w = await world(2);
    const recount = await startRecount(w.deps);
    w.taskQueue.sent.length = 0;
    expect(await runTaskChunk(w.deps, recount.id, 60_000)).toBe('done');
    expect(await w.deps.recounts.getRecount(recount.id)).toMatchObject({ status: 'COMPLETED', states: [], skipped: [] });
    expect(w.taskQueue.sent).toEqual([]);
  });
});
