import { cancelRetryTask } from '../../lambda/core/cancel-retry-task';
import type { JobMessage } from '../../lambda/core/job';
import { resendPendingJobs } from '../../lambda/core/resend-pending-jobs';
import { retryFailedJob } from '../../lambda/core/retry-failed-job';
import { isRetriedByTask, type RetryTask } from '../../lambda/core/retry-task';
import {
  resumeAbandonedTasks,
  runRetryTaskChunk,
  startRetryTask,
  type TaskDeps,
} from '../../lambda/core/run-retry-task';
import { storeFailedJob } from '../support/job-fixtures';
import { Clock, MemoryJobQueue, MemoryJobStore, MemoryRetryTaskStore } from '../support/memory-adapters';

// A retry task killed at any write, then resumed, ends exact: the first
// `limit` failed jobs retried, each once and named by the task, and the
// task's counts those of the jobs, one by one.

const JOBS = 23;
const LIMIT = 17;
/** Pages of 5: four pages and two jobs of a fifth reach the limit. */
const PER_SECOND = 5;
/** One chunk runs the whole task. */
const LONG = 600_000;
/** A chunk ends after two pages (the pace waits 1 s after each): chunk edges fall between pages. */
const SHORT = 1_500;

class Killed extends Error {}

/**
 * A process that dies at its `at`-th write: that write and every call after
 * it, read or write, fail without effect, as everything after a kill -9.
 */
class Mortal {
  writes = 0;
  dead = false;
  constructor(private readonly at = Number.POSITIVE_INFINITY) {}

  wrap<T extends object>(target: T, writes: readonly string[]): T {
    return new Proxy(target, {
      get: (object, property, receiver) => {
        const value = Reflect.get(object, property, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (!this.dead && writes.includes(String(property)) && ++this.writes === this.at) this.dead = true;
          if (this.dead) return Promise.reject(new Killed(`killed at write ${this.at}`));
          return value.apply(object, args);
        };
      },
    });
  }
}

/** A queue that refuses the first message of some jobs, as a SendMessageBatch fails some of its entries now and then. */
class RefusingQueue extends MemoryJobQueue {
  private readonly refused: Set<string>;

  constructor(clock: Clock, refused: ReadonlySet<string>) {
    super(clock, 30_000);
    this.refused = new Set(refused);
  }

  override async send(messages: readonly JobMessage[], delayMs?: number): Promise<readonly JobMessage[]> {
    const unsent = messages.filter((m) => this.refused.has(m.jobId));
    for (const m of unsent) this.refused.delete(m.jobId);
    await super.send(
      messages.filter((m) => !unsent.includes(m)),
      delayMs,
    );
    return unsent;
  }
}

const jobId = (i: number) => `job-${String(i).padStart(2, '0')}`;

/** JOBS failed jobs, job-00 the most recently failed; deps for a runner, mortal or not. */
const world = async (refused: ReadonlySet<string> = new Set()) => {
  const clock = new Clock();
  const store = new MemoryJobStore();
  const queue = new RefusingQueue(clock, refused);
  const tasks = new MemoryRetryTaskStore();
  for (let i = 0; i < JOBS; i++) await storeFailedJob(store, { id: jobId(i), failedAt: clock.now() - 1000 * (i + 1) });
  const deps = (mortal = new Mortal()): TaskDeps => ({
    store: mortal.wrap(store, ['create', 'save', 'claim', 'remove']),
    queue: mortal.wrap(queue, ['send', 'sendToDeadLetter', 'sweepDeadLetters']),
    tasks: mortal.wrap(tasks, ['createTask', 'saveTask']),
    taskQueue: { sendTask: async () => undefined },
    now: clock.now,
    wait: async (ms: number) => clock.advance(ms),
  });
  return { clock, store, queue, tasks, deps };
};

type World = Awaited<ReturnType<typeof world>>;

const runToEnd = async (deps: TaskDeps, taskId: string, budgetMs: number) => {
  while ((await runRetryTaskChunk(deps, taskId, budgetMs)) === 'continue');
};

/**
 * Start a task, run it on a runner killed at write `at`, call `meanwhile`
 * while it is dead, then restart as the local runtime does (every open
 * task's lease let go) and run the task to its end.
 */
const killAndResume = async (
  at: number,
  { budgetMs = LONG, refused, meanwhile }: { budgetMs?: number; refused?: ReadonlySet<string>; meanwhile?: (w: World, task: RetryTask) => Promise<void> } = {},
) => {
  const w = await world(refused);
  const { id } = await startRetryTask(w.deps(), { filter: {}, limit: LIMIT, maxPerSecond: PER_SECOND }, LIMIT);
  const mortal = new Mortal(at);
  await runToEnd(w.deps(mortal), id, budgetMs).catch((error: unknown) => {
    if (!(error instanceof Killed)) throw error;
  });
  await meanwhile?.(w, (await w.tasks.getTask(id))!);
  w.clock.advance(1_000);
  const alive = w.deps();
  await resumeAbandonedTasks(alive, { everyOpenTask: true });
  await runToEnd(alive, id, budgetMs);
  return { ...w, mortal, alive, task: (await w.tasks.getTask(id))! };
};

/** Writes of a whole run with no kill: the kill points to try are 1 to this + 1. */
const writesOfOneRun = async (options: { budgetMs?: number; refused?: ReadonlySet<string> } = {}) => {
  const { mortal } = await killAndResume(Number.POSITIVE_INFINITY, options);
  return mortal.writes;
};

/**
 * The task's end, job by job: exactly `retriedIds` name the task, once each, at
 * generation 1, each with its message after the reconciler's pass; every other
 * job is failed at generation 0; the counts are those.
 */
const expectExact = async (
  { store, queue, alive, task }: Awaited<ReturnType<typeof killAndResume>>,
  at: number,
  retriedIds: readonly string[],
  failed: number,
) => {
  const jobs = [...store.jobs.values()];
  const byTask = jobs.filter((job) => isRetriedByTask(job, task.id));
  expect({ at, status: task.status, retried: task.retried, failed: task.failed, page: task.page }).toEqual({
    at,
    status: 'COMPLETED',
    retried: retriedIds.length,
    failed,
    page: undefined,
  });
  expect({ at, ids: byTask.map((job) => job.id).sort() }).toEqual({ at, ids: [...retriedIds].sort() });
  for (const job of byTask) {
    expect({ at, id: job.id, state: job.state, generation: job.generation }).toEqual({ at, id: job.id, state: 'waiting', generation: 1 });
    expect(job.retries.filter((record) => record.taskId === task.id)).toHaveLength(1);
  }
  for (const job of jobs.filter((j) => !isRetriedByTask(j, task.id) && j.generation === 0)) {
    expect({ at, id: job.id, state: job.state }).toEqual({ at, id: job.id, state: 'failed' });
  }
  // a runner killed between a job's retry and its message leaves it waiting with none: the reconciler sends it
  // (on its next pass, when the queue refused the send)
  await resendPendingJobs(alive);
  await resendPendingJobs(alive);
  const sent = new Set(queue.main.map((m) => m.body));
  for (const job of byTask) expect({ at, id: job.id, sent: sent.has(JSON.stringify({ jobId: job.id, generation: 1 })) }).toEqual({ at, id: job.id, sent: true });
};

const firstJobs = (n: number) => Array.from({ length: n }, (_, i) => jobId(i));

describe('a retry task killed at any write', () => {
  it('retries exactly `limit` jobs and counts each once, in one chunk', async () => {
    const writes = await writesOfOneRun();
    expect(writes).toBeGreaterThan(LIMIT);
    for (let at = 1; at <= writes + 1; at++) {
      const end = await killAndResume(at);
      expect({ at, killed: end.mortal.dead }).toEqual({ at, killed: at <= writes });
      await expectExact(end, at, firstJobs(LIMIT), 0);
    }
  });

  it('retries exactly `limit` jobs and counts each once, across chunk edges', async () => {
    const writes = await writesOfOneRun({ budgetMs: SHORT });
    for (let at = 1; at <= writes + 1; at++) {
      const end = await killAndResume(at, { budgetMs: SHORT });
      await expectExact(end, at, firstJobs(LIMIT), 0);
    }
  });

  it('counts a job whose message was refused as failed, unless the kill came before its retry was undone', async () => {
    const refused = new Set([jobId(3), jobId(11)]);
    const writes = await writesOfOneRun({ refused });
    const failedCounts = new Set<number>();
    for (let at = 1; at <= writes + 1; at++) {
      const end = await killAndResume(at, { refused });
      // killed between such a job's retry and the undo, it stays retried: its message is the reconciler's to send
      const retried = firstJobs(LIMIT).filter((id) => !refused.has(id) || isRetriedByTask(end.store.jobs.get(id), end.task.id));
      await expectExact(end, at, retried, LIMIT - retried.length);
      failedCounts.add(LIMIT - retried.length);
    }
    // the two are on different pages: a kill catches one of them at most
    expect([...failedCounts].sort()).toEqual([1, 2]);
  });

  it('counts a job of the recorded page retried by someone else while the runner was dead as failed', async () => {
    const writes = await writesOfOneRun();
    let raced = 0;
    for (let at = 1; at <= writes + 1; at++) {
      let other: string | undefined;
      const end = await killAndResume(at, {
        meanwhile: async (w, task) => {
          // a job the recorded page holds that the dead runner had not retried yet
          const untouched = task.page?.jobs.find(({ id }) => w.store.jobs.get(id)?.state === 'failed');
          if (!untouched) return;
          other = untouched.id;
          await retryFailedJob(w.deps(), other);
        },
      });
      if (!other) continue;
      raced++;
      expect(end.store.jobs.get(other)?.retries.map((r) => r.taskId)).toEqual([undefined]);
      await expectExact(end, at, firstJobs(LIMIT).filter((id) => id !== other), 1);
    }
    expect(raced).toBeGreaterThan(LIMIT / PER_SECOND);
  });

  it('counts, once cancelled while the runner was dead, the jobs it retried and no others', async () => {
    const writes = await writesOfOneRun();
    let cancelled = 0;
    for (let at = 1; at <= writes; at++) {
      const end = await killAndResume(at, {
        meanwhile: async (w, task) => {
          if (task.status === 'RUNNING') await cancelRetryTask(w.deps(), task.id);
        },
      });
      const byTask = [...end.store.jobs.values()].filter((job) => isRetriedByTask(job, end.task.id));
      if (end.task.status === 'COMPLETED') continue; // killed after its last write
      cancelled++;
      expect({ at, status: end.task.status, retried: end.task.retried, failed: end.task.failed }).toEqual({
        at,
        status: 'CANCELLED',
        retried: byTask.length,
        failed: 0,
      });
      expect(byTask.length).toBeLessThanOrEqual(LIMIT);
      for (const job of end.store.jobs.values()) {
        if (!isRetriedByTask(job, end.task.id)) expect({ at, id: job.id, state: job.state, generation: job.generation }).toEqual({ at, id: job.id, state: 'failed', generation: 0 });
      }
    }
    expect(cancelled).toBeGreaterThan(LIMIT / PER_SECOND);
  });
});
