import { setTimeout as sleep } from 'node:timers/promises';
import { enqueueJob } from '../../lambda/core/enqueue-job';
import { processJobMessage, type WorkerDeps } from '../../lambda/core/process-job-message';
import { Clock, MemoryJobQueue, MemoryJobStore } from '../support/memory-adapters';

const quiet = { info: () => undefined, warn: jest.fn(), error: () => undefined };

const setup = (processor: () => Promise<unknown>) => {
  const clock = new Clock();
  const store = new MemoryJobStore();
  const queue = new MemoryJobQueue(clock, 30_000);
  const deps: WorkerDeps = {
    store,
    queue,
    log: quiet,
    leaseMs: 30_000,
    defaultTimeoutMs: 10_000,
    now: clock.now,
    findProcessor: () => processor,
  };
  const enqueue = (opts: Partial<{ attempts: number; timeout: number }> = {}) =>
    enqueueJob(
      { store, queue, now: clock.now },
      { name: 'p', data: null, opts: { attempts: 1, backoff: { type: 'fixed', delay: 0 }, delay: 0, ...opts } },
    );
  return { clock, store, queue, deps, enqueue };
};

describe('processJobMessage', () => {
  it('says so when the worker, not opts.timeout, cut an execution short', async () => {
    const { store, deps, enqueue } = setup(() => sleep(1000));
    const job = await enqueue({ timeout: 60_000 });
    const outcome = await processJobMessage(deps, JSON.stringify({ jobId: job.id, generation: 0 }), 2_100);
    expect(outcome).toEqual({ kind: 'delete' });
    expect((await store.get(job.id))?.error).toBe(
      "Job timed out after 100 ms: the worker had no more time left (its function timeout); lower opts.timeout or raise the worker's",
    );
  });

  it('records the execution as starting when it was claimed', async () => {
    const { store, deps, enqueue } = setup(async () => 'ok');
    const job = await enqueue();
    await processJobMessage(deps, JSON.stringify({ jobId: job.id, generation: 0 }));
    const done = (await store.get(job.id))!;
    expect(done.history[0].start).toBe(done.processedAt);
  });

  it.each([
    ['not JSON', 'nope'],
    ['JSON without a job id', '{"generation": 0}'],
    ['a negative generation', '{"jobId": "x", "generation": -1}'],
    ['a job that does not exist', '{"jobId": "ghost", "generation": 0}'],
  ])('drops a message that is %s, running nothing', async (_, body) => {
    const processor = jest.fn(async () => 'ran');
    const { deps } = setup(processor);
    expect(await processJobMessage(deps, body)).toEqual({ kind: 'delete' });
    expect(processor).not.toHaveBeenCalled();
  });

  it('drops a message of another generation without running it', async () => {
    const processor = jest.fn(async () => 'ran');
    const { deps, enqueue } = setup(processor);
    const job = await enqueue();
    expect(await processJobMessage(deps, JSON.stringify({ jobId: job.id, generation: 3 }))).toEqual({ kind: 'delete' });
    expect(processor).not.toHaveBeenCalled();
  });
});
