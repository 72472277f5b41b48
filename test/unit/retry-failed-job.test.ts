import type { JobMessage } from '../../lambda/core/job';
import { retryFailedJobAndSweep } from '../../lambda/core/retry-failed-job';
import { storeFailedJob } from '../support/job-fixtures';
import { Clock, MemoryJobQueue, MemoryJobStore } from '../support/memory-adapters';

/** Failed jobs a, b and c, each with its dead-letter copy; b retried already, its copy left behind. */
const world = async () => {
  const clock = new Clock();
  const store = new MemoryJobStore();
  const queue = new MemoryJobQueue(clock, 30_000);
  for (const id of ['a', 'b', 'c']) {
    await storeFailedJob(store, { id, failedAt: clock.now() });
    await queue.sendToDeadLetter({ jobId: id, generation: 0 });
  }
  const b = (await store.get('b'))!;
  await store.save({ ...b, state: 'waiting', generation: 1 }, { states: ['failed'], generation: 0 });
  const deadLetters = () => queue.deadLetter.map((m) => (JSON.parse(m.body) as JobMessage).jobId);
  return { clock, store, queue, deadLetters };
};

describe('retryFailedJobAndSweep', () => {
  it('retries the job and clears the stale dead-letter copies one receive brings', async () => {
    const w = await world();
    const errors: unknown[] = [];
    const job = await retryFailedJobAndSweep({ store: w.store, queue: w.queue, now: w.clock.now }, 'a', { by: 'alice' }, (e) => errors.push(e));
    expect(job).toMatchObject({ id: 'a', state: 'waiting', generation: 1 });
    expect(job.retries.at(-1)).toMatchObject({ source: 'api', by: 'alice' });
    expect(w.queue.main.map((m) => JSON.parse(m.body) as JobMessage)).toEqual([{ jobId: 'a', generation: 1 }]);
    expect({ deadLetters: w.deadLetters(), errors }).toEqual({ deadLetters: ['c'], errors: [] });
  });

  it('keeps the retry when the sweep fails, and says why', async () => {
    const w = await world();
    const failure = new Error('dead-letter queue unreachable');
    w.queue.sweepDeadLetters = () => Promise.reject(failure);
    const errors: unknown[] = [];
    await retryFailedJobAndSweep({ store: w.store, queue: w.queue }, 'a', {}, (e) => errors.push(e));
    expect((await w.store.get('a'))?.state).toBe('waiting');
    expect({ deadLetters: w.deadLetters(), errors }).toEqual({ deadLetters: ['a', 'b', 'c'], errors: [failure] });
  });
});
