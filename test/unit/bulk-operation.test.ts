import { removeAllFailed, retryAllFailed } from '../../lambda/core/bulk-operation';
import type { JobMessage } from '../../lambda/core/job';
import { SYNC_BULK_LIMIT } from '../../lambda/core/plan-bulk-operation';
import type { RetryAllRequest } from '../../lambda/core/retry-all-request';
import { storeFailedJob } from '../support/job-fixtures';
import { Clock, MemoryJobQueue, MemoryJobStore, MemoryRetryTaskStore, MemoryTaskQueue } from '../support/memory-adapters';

/** `failed` failed jobs, job-0 the most recently failed, and the parts a bulk request needs. */
const world = async (failed: number) => {
  const clock = new Clock();
  const store = new MemoryJobStore();
  const queue = new MemoryJobQueue(clock, 30_000);
  const tasks = new MemoryRetryTaskStore();
  const taskQueue = new MemoryTaskQueue();
  for (let i = 0; i < failed; i++) await storeFailedJob(store, { id: `job-${i}`, failedAt: clock.now() - 1000 * (i + 1) });
  const states = () => [...store.jobs.values()].map((job) => job.state);
  const messages = () => queue.main.map((m) => JSON.parse(m.body) as JobMessage);
  return { clock, store, queue, tasks, taskQueue, deps: { store, queue, tasks, taskQueue, now: clock.now }, states, messages };
};

const request = (over: Partial<RetryAllRequest> = {}): RetryAllRequest => ({ filter: {}, dryRun: false, async: false, ...over });

describe('retryAllFailed', () => {
  it('counts for a dry run and changes nothing', async () => {
    const w = await world(5);
    expect(await retryAllFailed(w.deps, request({ dryRun: true, limit: 3 }), 'alice')).toEqual({ run: 'dry-run', total: 3 });
    expect(w.states()).toEqual(Array(5).fill('failed'));
    expect({ messages: w.messages(), tasks: w.tasks.tasks.size }).toEqual({ messages: [], tasks: 0 });
  });

  it('retries a small set in the request, naming who asked', async () => {
    const w = await world(5);
    expect(await retryAllFailed(w.deps, request({ limit: 4 }), 'alice')).toEqual({
      run: 'now',
      result: { retriedCount: 4, failedCount: 0, total: 4 },
    });
    expect(w.messages().map((m) => m.jobId)).toEqual(['job-0', 'job-1', 'job-2', 'job-3']);
    expect(w.store.jobs.get('job-0')?.retries).toEqual([{ at: w.clock.now(), source: 'api', generation: 1, by: 'alice' }]);
    expect(w.store.jobs.get('job-4')?.state).toBe('failed');
    expect(w.tasks.tasks.size).toBe(0);
  });

  it(`starts a background task for more than ${SYNC_BULK_LIMIT} jobs, touching none of them`, async () => {
    const w = await world(SYNC_BULK_LIMIT + 1);
    const outcome = await retryAllFailed(w.deps, request({ maxPerSecond: 50 }), 'alice');
    if (outcome.run !== 'task') throw new Error(`ran ${outcome.run}`);
    expect(outcome.task).toMatchObject({ status: 'RUNNING', total: SYNC_BULK_LIMIT + 1, maxPerSecond: 50, by: 'alice', retried: 0 });
    expect(outcome.task.kind).toBeUndefined();
    expect(await w.tasks.getTask(outcome.task.id)).toEqual(outcome.task);
    expect(w.taskQueue.sent).toEqual([{ taskId: outcome.task.id }]);
    expect({ messages: w.messages().length, notFailed: w.states().filter((s) => s !== 'failed').length }).toEqual({ messages: 0, notFailed: 0 });
  });

  it('starts a task for a small set when asked to', async () => {
    const w = await world(2);
    const outcome = await retryAllFailed(w.deps, request({ async: true }), 'alice');
    expect(outcome.run === 'task' && outcome.task.total).toBe(2);
    expect(w.states()).toEqual(['failed', 'failed']);
  });
});

describe('removeAllFailed', () => {
  it('counts for a dry run and removes nothing', async () => {
    const w = await world(3);
    expect(await removeAllFailed(w.deps, request({ dryRun: true }), 'bob')).toEqual({ run: 'dry-run', total: 3 });
    expect(w.store.jobs.size).toBe(3);
  });

  it('removes a small set in the request', async () => {
    const w = await world(3);
    expect(await removeAllFailed(w.deps, request({ limit: 2 }), 'bob')).toEqual({ run: 'now', result: { removedCount: 2, total: 2 } });
    expect([...w.store.jobs.keys()]).toEqual(['job-2']);
    expect(w.tasks.tasks.size).toBe(0);
  });

  it('starts a remove task when asked, or for a large set, naming who asked', async () => {
    const w = await world(SYNC_BULK_LIMIT + 1);
    for (const over of [{ async: true, limit: 10 }, {}]) {
      const outcome = await removeAllFailed(w.deps, request(over), 'bob');
      if (outcome.run !== 'task') throw new Error(`ran ${outcome.run}`);
      expect(outcome.task).toMatchObject({ kind: 'remove', by: 'bob', status: 'RUNNING', total: over.limit ?? SYNC_BULK_LIMIT + 1 });
    }
    expect(w.taskQueue.sent).toHaveLength(2);
    expect(w.store.jobs.size).toBe(SYNC_BULK_LIMIT + 1);
  });
});
