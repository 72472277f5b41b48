import { DependencyUnavailableError, JobWriteRefusedError } from '../../lambda/core/errors';
import type { Job } from '../../lambda/core/job';
import type { Expectation } from '../../lambda/core/transitions';
import { processJobMessage } from '../../lambda/core/process-job-message';
import { MemoryJobStore } from '../support/memory-adapters';
import { memoryWorker } from '../support/memory-worker';

const quiet = { info: () => undefined, warn: jest.fn(), error: () => undefined };

const setup = (processor: (...args: never[]) => Promise<unknown>) => memoryWorker(processor, { log: quiet });

describe('processJobMessage', () => {
  it('says so when the worker, not opts.timeout, cut an execution short', async () => {
    // a processor that never returns: only the worker's own deadline ends the execution
    const { store, deps, enqueue } = setup(() => new Promise(() => undefined));
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

  it('counts executions dropped from a full history in what the processor is told', async () => {
    const { store, deps, enqueue } = setup(async (job?: { executions: number }) => job?.executions);
    const job = await enqueue();
    const entry = { generation: 0, attempt: 1, start: 1, end: 2, outcome: 'failed' as const, error: 'e' };
    store.jobs.set(job.id, { ...job, history: Array.from({ length: 100 }, () => entry), historyDropped: 50 });
    await processJobMessage(deps, JSON.stringify({ jobId: job.id, generation: 0 }));
    expect((await store.get(job.id))?.returnValue).toBe(151);
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

describe('recording an outcome the store will not take', () => {
  /** A store whose outcome writes (saves of an active job) throw `errors` in turn, then work. */
  class RefusingStore extends MemoryJobStore {
    constructor(private readonly errors: Error[]) {
      super();
    }
    override async save(next: Job, expect: Expectation): Promise<void> {
      const error = expect.states.includes('active') ? this.errors.shift() : undefined;
      if (error) throw error;
      return super.save(next, expect);
    }
  }

  const run = async (errors: Error[], processor: () => Promise<unknown>, remainingMs = 60_000) => {
    const log = { info: jest.fn(), warn: jest.fn(), error: jest.fn() };
    const sleep = jest.fn();
    const calls = jest.fn(processor);
    const { store, deps, enqueue } = memoryWorker(calls, {
      log,
      store: new RefusingStore(errors),
      sleep: (clock) => sleep.mockImplementation(async (ms: number) => clock.advance(ms)),
    });
    const job = await enqueue();
    const outcome = processJobMessage(deps, JSON.stringify({ jobId: job.id, generation: 0 }), remainingMs);
    return { outcome, id: job.id, store, log, sleep, calls };
  };

  const tooLarge = () => new JobWriteRefusedError('x', 'ValidationException: Item size to update has exceeded the maximum allowed size');

  it('logs a refused failure with the job id and reason, and records it without its stack', async () => {
    const { outcome, id, store, log, calls } = await run([tooLarge()], async () => {
      throw new Error('card declined');
    });
    await outcome;
    const job = (await store.get(id))!;
    expect(calls).toHaveBeenCalledTimes(1);
    expect(job).toMatchObject({
      state: 'failed',
      error: 'card declined [stack not stored: the store refused the full outcome: ValidationException: Item size to update has exceeded the maximum allowed size]',
      stacktrace: undefined,
    });
    expect(job.history).toEqual([expect.objectContaining({ outcome: 'failed', error: 'card declined' })]);
    expect(log.error).toHaveBeenCalledWith(expect.stringContaining('Outcome refused'), expect.objectContaining({ jobId: id, reason: expect.stringContaining('Item size') }));
  });

  it('records a refused completion with a marker in place of its result', async () => {
    const { outcome, id, store, calls } = await run([tooLarge()], async () => ({ big: true }));
    await outcome;
    expect(calls).toHaveBeenCalledTimes(1);
    expect(await store.get(id)).toMatchObject({
      state: 'completed',
      returnValue: { notStored: expect.stringMatching(/^returnValue not stored: the store refused the full outcome: ValidationException/) },
    });
  });

  it('tries again while the store is unavailable and the function has time, then records the outcome once', async () => {
    const unavailable = () => new DependencyUnavailableError('DynamoDB is unavailable right now');
    const { outcome, id, store, sleep, calls } = await run([unavailable(), unavailable()], async () => 'ok');
    expect(await outcome).toEqual({ kind: 'delete' });
    expect(sleep.mock.calls).toEqual([[1000], [2000]]);
    expect(calls).toHaveBeenCalledTimes(1);
    expect(await store.get(id)).toMatchObject({ state: 'completed', returnValue: 'ok' });
  });

  it('gives up when the function would run out of time, logging why, and leaves the job to be recovered', async () => {
    const unavailable = () => new DependencyUnavailableError('DynamoDB is unavailable right now');
    const { outcome, id, store, log, sleep } = await run([unavailable(), unavailable()], async () => 'ok', 3_500);
    await expect(outcome).rejects.toThrow(DependencyUnavailableError);
    expect(sleep.mock.calls).toEqual([[1000]]);
    expect((await store.get(id))!.state).toBe('active');
    expect(log.error).toHaveBeenCalledWith(expect.stringContaining('Outcome not recorded'), expect.objectContaining({ jobId: id }));
  });
});
