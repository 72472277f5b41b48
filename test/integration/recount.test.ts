import { DynamoDbJobStore } from '../../lambda/adapters/dynamodb-job-store';
import { DynamoDbRecountStore } from '../../lambda/adapters/dynamodb-recount-store';
import type { JobState } from '../../lambda/core/job';
import type { JobStore } from '../../lambda/core/ports';
import {
  resumeAbandonedRecounts,
  runRecountChunk,
  startRecount,
  type RecountStore,
  type RecountTask,
} from '../../lambda/core/recount-jobs';
import { createJob } from '../../lambda/core/transitions';
import { storeFailedJob } from '../support/job-fixtures';
import { eventually, startHarness, type Harness } from '../support/requeue-harness';

// The on-demand recount against dynalite: over HTTP with the task runner, and
// chunk by chunk with a runner killed where it hurts most.

let h: Harness;
let store: DynamoDbJobStore;
let recounts: DynamoDbRecountStore;
const noWakeUp = { sendTask: async () => undefined };
const later = () => Date.now() + 10 * 60_000;

beforeAll(async () => {
  h = await startHarness();
  store = new DynamoDbJobStore({ tableName: h.tableName, retentionMs: 60_000 });
  recounts = new DynamoDbRecountStore({ tableName: h.tableName });
});
afterAll(() => h.stop());

const opts = { attempts: 1, backoff: { type: 'fixed' as const, delay: 0 }, delay: 0 };
let seq = 0;
/**
 * Jobs the counters fell short of: counted from the stream, then taken out
 * again by hand, as a batch counted twice past the counters' guard (or a
 * correction gone wrong) leaves them off.
 */
const lostJobs = async (waiting: number, failed: number) => {
  for (let i = 0; i < waiting; i++) await store.create(createJob({ id: `lost-${++seq}`, name: 'demo.echo', data: null, opts }, Date.now()));
  for (let i = 0; i < failed; i++) await storeFailedJob(store, { id: `lost-${++seq}` });
  await h.caughtUp();
  if (waiting > 0) await store.adjustCount('waiting', -waiting, `drift-${++seq}`);
  if (failed > 0) await store.adjustCount('failed', -failed, `drift-${++seq}`);
};
/** The truth, counted by the store's own full recount of a quiet table. */
const truth = async () => (await new DynamoDbJobStore({ tableName: h.tableName, retentionMs: 60_000 }).recount())!;

/** Chunks of no time at all (one page each) until the recount ends. */
const runToEnd = async (deps: { store: JobStore; recounts: RecountStore }, id: string, now = later) => {
  let chunks = 0;
  while ((await runRecountChunk({ ...deps, now }, id, 0)) === 'continue') chunks++;
  return chunks + 1;
};

describe('the recount on demand', () => {
  it('runs in the background from POST /jobs/recount and sets the counters right', async () => {
    await lostJobs(3, 2);
    const before = await store.countByState();
    const started = await h.request('POST', '/jobs/recount');
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ taskId: expect.stringMatching(/^recount-/), status: 'RUNNING' });
    h.startTaskRunner();
    const done = await eventually(async () => {
      const { body } = await h.request('GET', `/jobs/recount/${started.body.taskId}`);
      return body.status === 'COMPLETED' && body;
    }, 20_000, 'the recount to complete');
    await h.stopTaskRunner();
    expect(done).toMatchObject({ corrections: { waiting: 3, failed: 2, active: 0, completed: 0, delayed: 0 }, skipped: [] });
    expect(await store.countByState()).toEqual({ ...before, waiting: before.waiting + 3, failed: before.failed + 2 });
    expect((await h.request('GET', '/jobs/recount/recount-no-such-task')).body).toEqual({
      error: 'Recount recount-no-such-task not found',
      code: 'RECOUNT_NOT_FOUND',
    });
  });

  it('goes on where a runner killed right after a correction stopped, and corrects the counts once', async () => {
    await lostJobs(2, 0);
    const expected = await truth();
    // the truth's recount set the counters right: make them drift again
    await lostJobs(4, 1);
    const task = await startRecount({ recounts, taskQueue: noWakeUp });
    // killed at the checkpoint that follows the correction of `waiting` (the first state)
    let killed = false;
    const dying: RecountStore = {
      createRecount: (t) => recounts.createRecount(t),
      getRecount: (id) => recounts.getRecount(id),
      listAbandonedRecounts: (before) => recounts.listAbandonedRecounts(before),
      saveRecount: async (next: RecountTask, version: number) => {
        if (!killed && next.corrections.waiting !== undefined) {
          killed = true;
          throw new Error('killed');
        }
        return recounts.saveRecount(next, version);
      },
    };
    await expect(runToEnd({ store, recounts: dying }, task.id, Date.now)).rejects.toThrow('killed');
    // the reconciler wakes a runner once the dead one's lease has ended, not sooner
    const woken: string[] = [];
    const taskQueue = { sendTask: async (id: string) => void woken.push(id) };
    expect(await resumeAbandonedRecounts({ recounts, taskQueue, now: Date.now })).toBe(0);
    expect(await resumeAbandonedRecounts({ recounts, taskQueue, now: later })).toBe(1);
    expect(woken).toEqual([task.id]);
    await runToEnd({ store, recounts }, task.id);
    expect(await resumeAbandonedRecounts({ recounts, taskQueue, now: later })).toBe(0);
    const finished = (await recounts.getRecount(task.id))!;
    // the correction of `waiting` was written before the kill: the count after it found the counter right
    expect(finished).toMatchObject({ status: 'COMPLETED', corrections: { waiting: 0, failed: 1 }, skipped: [] });
    expect(await store.countByState()).toEqual({ ...expected, waiting: expected.waiting + 4, failed: expected.failed + 1 });
  });

  it('leaves a state whose jobs keep moving while it is counted as it was, and says so', async () => {
    const before = await truth();
    await lostJobs(1, 0);
    // each count of `waiting` sees a job arrive (and its counter change) before it ends: on its first page
    // (a count reads every shard of the index, a page or more each)
    const moving: JobStore = Object.assign(Object.create(store) as JobStore, {
      countStatePage: async (state: JobState, cursor?: string) => {
        if (state === 'waiting' && cursor === undefined) {
          await store.create(createJob({ id: `moving-${++seq}`, name: 'demo.echo', data: null, opts }, Date.now()));
          await h.caughtUp();
        }
        return store.countStatePage(state, cursor);
      },
    });
    const task = await startRecount({ recounts, taskQueue: noWakeUp });
    await runToEnd({ store: moving, recounts }, task.id);
    const finished = (await recounts.getRecount(task.id))!;
    expect(finished.status).toBe('COMPLETED');
    expect(finished.skipped).toEqual(['waiting']);
    expect(finished.corrections.waiting).toBeUndefined();
    // three tries each added a job, counted; the lost one stays uncounted
    expect((await store.countByState()).waiting).toBe(before.waiting + 3);
  });
});
