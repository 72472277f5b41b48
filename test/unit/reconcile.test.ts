import type { JobMessage } from '../../lambda/core/job';
import { reconcile } from '../../lambda/core/reconcile';
import type { RecountTask } from '../../lambda/core/recount-jobs';
import { retryFailedJob } from '../../lambda/core/retry-failed-job';
import type { RetryTask } from '../../lambda/core/retry-task';
import { createJob } from '../../lambda/core/transitions';
import { storeFailedJob } from '../support/job-fixtures';
import {
  Clock,
  MemoryJobQueue,
  MemoryJobStore,
  MemoryRecountStore,
  MemoryRetryTaskStore,
  MemoryTaskQueue,
} from '../support/memory-adapters';

const AFTER_MS = 120_000;

const world = () => {
  const clock = new Clock();
  const store = new MemoryJobStore();
  const queue = new MemoryJobQueue(clock, 30_000);
  const tasks = new MemoryRetryTaskStore();
  const recounts = new MemoryRecountStore();
  const taskQueue = new MemoryTaskQueue();
  const warnings: { message: string; extra: Record<string, unknown> }[] = [];
  const log = { warn: (message: string, extra: Record<string, unknown>) => void warnings.push({ message, extra }) };
  const pass = () => reconcile({ store, queue, tasks, taskQueue, recounts, log, now: clock.now }, { afterMs: AFTER_MS });
  const messages = () => queue.main.map((m) => JSON.parse(m.body) as JobMessage);
  return { clock, store, queue, tasks, recounts, taskQueue, warnings, pass, messages };
};

const nothing = { waiting: 0, delayed: 0, active: 0, tasks: 0, deadLettersCleared: 0 };

const runningTask = (at: number): RetryTask => ({
  id: 'task-1',
  status: 'RUNNING',
  filter: {},
  total: 5,
  retried: 2,
  failed: 0,
  startedAt: at,
  updatedAt: at,
  leaseUntil: at + 1_000,
  version: 4,
});

const runningRecount = (at: number): RecountTask => ({
  id: 'recount-1',
  status: 'RUNNING',
  states: ['failed'],
  counted: 0,
  tries: 0,
  corrections: {},
  skipped: [],
  startedAt: at,
  updatedAt: at,
  leaseUntil: at + 1_000,
  version: 2,
});

describe('reconcile: one pass of the reconciler', () => {
  it('does nothing, and says nothing, when nothing needs repair', async () => {
    const w = world();
    expect(await w.pass()).toEqual(nothing);
    expect({ warnings: w.warnings, messages: w.messages(), wakeUps: w.taskQueue.sent }).toEqual({ warnings: [], messages: [], wakeUps: [] });
  });

  it('re-sends a job left waiting without a message, once it has been still for afterMs', async () => {
    const w = world();
    const job = createJob({ id: 'j1', name: 'p', data: null, opts: { attempts: 1, backoff: { type: 'fixed', delay: 0 }, delay: 0 } }, w.clock.now());
    await w.store.create(job);
    w.clock.advance(AFTER_MS / 2);
    expect(await w.pass()).toEqual(nothing);
    w.clock.advance(AFTER_MS);
    expect(await w.pass()).toEqual({ ...nothing, waiting: 1 });
    expect(w.messages()).toEqual([{ jobId: 'j1', generation: 0 }]);
    expect(w.warnings).toEqual([{ message: 'Re-sent jobs left without a message', extra: { waiting: 1, delayed: 0, active: 0 } }]);
  });

  it('wakes a retry task and a recount whose runner stopped, with their leases let go', async () => {
    const w = world();
    await w.tasks.createTask(runningTask(w.clock.now()));
    await w.recounts.createRecount(runningRecount(w.clock.now()));
    w.clock.advance(AFTER_MS / 2);
    expect(await w.pass()).toEqual(nothing);
    w.clock.advance(AFTER_MS);
    expect(await w.pass()).toEqual({ ...nothing, tasks: 1 });
    expect(w.taskQueue.sent).toEqual([{ taskId: 'task-1' }, { taskId: 'recount-1' }]);
    expect((await w.tasks.getTask('task-1'))?.leaseUntil).toBeUndefined();
    expect((await w.recounts.getRecount('recount-1'))?.leaseUntil).toBeUndefined();
    expect(w.warnings.map((warning) => warning.message)).toEqual(['Resumed retry tasks whose runner stopped', 'Resumed recounts whose runner stopped']);
  });

  it('clears the dead-letter copy a retry left behind, and keeps the copy of a job still failed', async () => {
    const w = world();
    for (const id of ['retried', 'still-failed']) {
      await storeFailedJob(w.store, { id, failedAt: w.clock.now() });
      await w.queue.sendToDeadLetter({ jobId: id, generation: 0 });
    }
    await retryFailedJob({ store: w.store, queue: w.queue, now: w.clock.now }, 'retried');
    expect(await w.pass()).toEqual({ ...nothing, deadLettersCleared: 1 });
    expect(w.queue.deadLetter.map((m) => (JSON.parse(m.body) as JobMessage).jobId)).toEqual(['still-failed']);
    // the retried job has its message: nothing is re-sent for it
    expect(w.messages()).toEqual([{ jobId: 'retried', generation: 1 }]);
  });
});
