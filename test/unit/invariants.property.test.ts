import fc from 'fast-check';
import type { ProcessorJob } from '../../lambda/core/ports';
import { enqueueJob } from '../../lambda/core/enqueue-job';
import { processJobMessage, type WorkerDeps } from '../../lambda/core/process-job-message';
import { resendPendingJobs } from '../../lambda/core/resend-pending-jobs';
import { retryAllFailedJobs } from '../../lambda/core/retry-all-failed-jobs';
import { retryFailedJob } from '../../lambda/core/retry-failed-job';
import { claim, isClaimRefusal } from '../../lambda/core/transitions';
import { Clock, MemoryJobQueue, MemoryJobStore } from '../support/memory-adapters';

/**
 * Drives the core through random interleavings of deliveries, duplicate
 * deliveries, worker crashes, lost messages, retries, retry-alls, console
 * redrives and reconciler passes, then lets the system settle, and checks:
 * no job lost, at most one execution per (generation, attempt), attempts
 * never above maxAttempts, one generation per successful retry.
 */

const LEASE_MS = 30_000;
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

type Command =
  | { kind: 'enqueue'; failTimes: number; attempts: number; backoff: number }
  | { kind: 'deliver'; pick: number }
  | { kind: 'duplicate'; pick: number }
  | { kind: 'crash'; pick: number }
  | { kind: 'lose'; pick: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'retry'; pick: number; times: number }
  | { kind: 'retryAll'; times: number }
  | { kind: 'redrive'; pick: number }
  | { kind: 'reconcile' };

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  fc.record({
    kind: fc.constant('enqueue' as const),
    failTimes: fc.integer({ min: 0, max: 4 }),
    attempts: fc.integer({ min: 1, max: 3 }),
    backoff: fc.constantFrom(0, 1000, 5000),
  }),
  fc.record({ kind: fc.constant('deliver' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('deliver' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('duplicate' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('crash' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('lose' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 2 * LEASE_MS }) }),
  fc.record({ kind: fc.constant('retry' as const), pick: fc.nat(), times: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant('retryAll' as const), times: fc.integer({ min: 1, max: 2 }) }),
  fc.record({ kind: fc.constant('redrive' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('reconcile' as const) }),
);

const simulate = async (commands: Command[]) => {
  const clock = new Clock();
  const store = new MemoryJobStore();
  const queue = new MemoryJobQueue(clock, LEASE_MS);
  const executions: { jobId: string; generation: number; attempt: number }[] = [];
  const retriesGranted = new Map<string, number>();
  /** Redrives that moved a copy of the job's current generation while it was failed. */
  const currentRedrives = new Map<string, number>();

  const deps: WorkerDeps = {
    store,
    queue,
    log: quiet,
    leaseMs: LEASE_MS,
    defaultTimeoutMs: 10_000,
    now: clock.now,
    findProcessor: () => async (job: ProcessorJob) => {
      const stored = (await store.get(job.id))!;
      executions.push({ jobId: job.id, generation: stored.generation, attempt: job.attempt });
      if (job.executions <= (job.data as { failTimes: number }).failTimes) throw new Error('planned failure');
      return 'ok';
    },
  };

  const deliver = async (pick: number, duplicate: boolean) => {
    const received = queue.receive(pick, duplicate);
    if (!received) return;
    const outcome = await processJobMessage(deps, received.message.body);
    if (outcome.kind === 'delete') queue.delete(received.receipt);
    else await queue.hide([{ receiptHandle: received.receipt, delayMs: outcome.delayMs }]);
  };

  /** A worker that claims a job and dies before recording anything: the message stays hidden for the lease. */
  const crash = async (pick: number) => {
    const received = queue.receive(pick);
    if (!received) return;
    const { jobId, generation } = JSON.parse(received.message.body);
    const job = await store.get(jobId);
    if (!job) return;
    const claimed = claim(job, generation, clock.now(), LEASE_MS);
    if (!isClaimRefusal(claimed)) await store.save(claimed.next, claimed.expect).catch(() => undefined);
  };

  const ids = () => [...store.jobs.keys()];
  const countRetry = (jobId: string) => retriesGranted.set(jobId, (retriesGranted.get(jobId) ?? 0) + 1);

  for (const c of commands) {
    switch (c.kind) {
      case 'enqueue':
        await enqueueJob(
          { store, queue, now: clock.now },
          {
            name: 'p',
            data: { failTimes: c.failTimes },
            opts: { attempts: c.attempts, backoff: { type: 'fixed', delay: c.backoff }, delay: 0 },
          },
        );
        break;
      case 'deliver':
        await deliver(c.pick, false);
        break;
      case 'duplicate':
        await deliver(c.pick, true);
        break;
      case 'crash':
        await crash(c.pick);
        break;
      case 'lose':
        queue.lose(c.pick);
        break;
      case 'advance':
        clock.advance(c.ms);
        break;
      case 'retry': {
        const all = ids();
        if (all.length === 0) break;
        const jobId = all[c.pick % all.length];
        const results = await Promise.allSettled(
          Array.from({ length: c.times }, () => retryFailedJob({ store, queue, now: clock.now }, jobId)),
        );
        const granted = results.filter((r) => r.status === 'fulfilled').length;
        expect(granted).toBeLessThanOrEqual(1);
        if (granted === 1) countRetry(jobId);
        break;
      }
      case 'retryAll': {
        const before = new Map([...store.jobs].map(([id, job]) => [id, job.generation]));
        const results = await Promise.all(
          Array.from({ length: c.times }, () => retryAllFailedJobs({ store, queue, now: clock.now })),
        );
        const retried = results.reduce((n, r) => n + r.retriedCount, 0);
        let bumped = 0;
        for (const [id, job] of store.jobs) {
          if (job.generation > (before.get(id) ?? 0)) {
            bumped++;
            countRetry(id);
          }
        }
        expect(retried).toBe(bumped);
        break;
      }
      case 'redrive': {
        const moved = queue.redrive(c.pick);
        const job = moved && store.jobs.get(moved.jobId);
        if (job && job.state === 'failed' && job.generation === moved.generation) {
          currentRedrives.set(job.id, (currentRedrives.get(job.id) ?? 0) + 1);
        }
        break;
      }
      case 'reconcile':
        await resendPendingJobs({ store, queue, now: clock.now }, { olderThanMs: 2 * LEASE_MS });
        break;
    }
  }

  // let the system settle: time passes, workers take every visible message, the reconciler runs
  for (let round = 0; round < 200; round++) {
    const pending = [...store.jobs.values()].filter((j) => j.state !== 'completed' && j.state !== 'failed');
    if (pending.length === 0) break;
    clock.advance(LEASE_MS);
    if (round % 3 === 2) await resendPendingJobs({ store, queue, now: clock.now }, { olderThanMs: 2 * LEASE_MS });
    for (let i = 0; i < 50 && queue.main.some((m) => m.visibleAt <= clock.now()); i++) await deliver(0, false);
  }

  return { store, executions, retriesGranted, currentRedrives };
};

describe('invariants under random interleavings', () => {
  it('loses no job, runs each (generation, attempt) at most once, never exceeds maxAttempts', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(commandArb, { minLength: 1, maxLength: 60 }), async (commands) => {
        const { store, executions, retriesGranted, currentRedrives } = await simulate(commands);
        for (const job of store.jobs.values()) {
          // nothing lost: every job settled
          expect(['completed', 'failed']).toContain(job.state);
          expect(job.attempts).toBeLessThanOrEqual(job.maxAttempts);
          // one generation per retry granted, whoever asked (API, retry-all, redrive)
          expect(job.generation).toBe(job.retries.length);
          const apiRetries = job.retries.filter((r) => r.source === 'api').length;
          expect(apiRetries).toBe(retriesGranted.get(job.id) ?? 0);
          // a stale dead-letter copy moved back never retries the job again
          const redrives = job.retries.filter((r) => r.source === 'redrive').length;
          expect(redrives).toBeLessThanOrEqual(currentRedrives.get(job.id) ?? 0);
        }
        const keys = executions.map((e) => `${e.jobId}/${e.generation}/${e.attempt}`);
        expect(new Set(keys).size).toBe(keys.length);
        for (const e of executions) expect(e.attempt).toBeLessThanOrEqual(store.jobs.get(e.jobId)!.maxAttempts);
      }),
      { numRuns: 300 },
    );
  });
});
