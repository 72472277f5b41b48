import { enqueueJob } from '../../lambda/core/enqueue-job';
import type { JobOptions } from '../../lambda/core/job';
import type { WorkerDeps, WorkerLog } from '../../lambda/core/process-job-message';
import type { Processor } from '../../lambda/core/ports';
import { Clock, MemoryJobQueue, MemoryJobStore } from './memory-adapters';

export const quietLog: WorkerLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * The worker core on the in-memory adapters, every job run by `processor`;
 * `enqueue` adds a job of one attempt, no backoff, unless `opts` say otherwise.
 */
export const memoryWorker = <S extends MemoryJobStore = MemoryJobStore>(
  processor: (...args: never[]) => Promise<unknown>,
  {
    log = quietLog,
    store = new MemoryJobStore() as S,
    sleep,
  }: { log?: WorkerLog; store?: S; sleep?: (clock: Clock) => WorkerDeps['sleep'] } = {},
) => {
  const clock = new Clock();
  const queue = new MemoryJobQueue(clock, 30_000);
  const deps: WorkerDeps = {
    store,
    queue,
    log,
    sleep: sleep?.(clock),
    leaseMs: 30_000,
    defaultTimeoutMs: 10_000,
    now: clock.now,
    findProcessor: () => processor as unknown as Processor,
  };
  const enqueue = (opts: Partial<JobOptions> = {}) =>
    enqueueJob(
      { store, queue, now: clock.now },
      { name: 'p', data: null, opts: { attempts: 1, backoff: { type: 'fixed', delay: 0 }, delay: 0, ...opts } },
    );
  return { clock, store, queue, deps, enqueue };
};
