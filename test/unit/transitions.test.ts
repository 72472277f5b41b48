import type { Job } from '../../lambda/core/job';
import {
  backoffDelay,
  canTransition,
  claim,
  createJob,
  isClaimRefusal,
  LOST_EXECUTION_ERROR,
  moveAfterFailure,
  moveToCompleted,
  recoverLostExecution,
  retry,
  revertRetry,
  type Transition,
} from '../../lambda/core/transitions';

const opts = { attempts: 2, backoff: { type: 'fixed' as const, delay: 1000 }, delay: 0 };
const newJob = (overrides: Partial<typeof opts> = {}): Job =>
  createJob({ id: 'j1', name: 'demo.echo', data: { a: 1 }, opts: { ...opts, ...overrides } }, 1000);

const claimed = (job: Job, now = 2000): Job => {
  const result = claim(job, job.generation, now, 30000);
  if (isClaimRefusal(result)) throw new Error(`refused: ${result.reason}`);
  return result.next;
};

describe('createJob', () => {
  it('starts waiting, or delayed until due when opts.delay is set', () => {
    expect(newJob()).toMatchObject({ state: 'waiting', attempts: 0, maxAttempts: 2, generation: 0 });
    expect(newJob({ delay: 500 })).toMatchObject({ state: 'delayed', runAt: 1500 });
  });
});

describe('claim', () => {
  it('moves waiting to active, counting the attempt, under a condition on what it read', () => {
    const result = claim(newJob(), 0, 2000, 30000) as Transition;
    expect(result.next).toMatchObject({ state: 'active', attempts: 1, processedAt: 2000, leaseUntil: 32000 });
    expect(result.expect).toEqual({ states: ['waiting'], generation: 0, attempts: 0 });
  });

  it('refuses a message of another generation', () => {
    expect(claim(newJob(), 1, 2000, 30000)).toEqual({ reason: 'stale-generation' });
  });

  it('refuses a delayed job before it is due, telling how long to wait', () => {
    expect(claim(newJob({ delay: 5000 }), 0, 2000, 30000)).toEqual({ reason: 'not-yet-due', waitMs: 4000 });
    expect(isClaimRefusal(claim(newJob({ delay: 5000 }), 0, 6000, 30000))).toBe(false);
  });

  it('refuses an active job while its lease runs, and reports a lost execution after', () => {
    const active = claimed(newJob());
    expect(claim(active, 0, 3000, 30000)).toEqual({ reason: 'running-elsewhere', waitMs: 29000 });
    expect(claim(active, 0, 40000, 30000)).toEqual({ reason: 'lost-execution' });
  });

  it('refuses finished jobs', () => {
    const active = claimed(newJob());
    expect(claim(moveToCompleted(active, 2000, 2500, 1).next, 0, 3000, 30000)).toEqual({
      reason: 'finished',
      state: 'completed',
    });
  });
});

describe('after an execution', () => {
  it('completes with the return value and one history entry', () => {
    const done = moveToCompleted(claimed(newJob()), 2000, 2500, { ok: true });
    expect(done.next).toMatchObject({ state: 'completed', returnValue: { ok: true }, finishedAt: 2500 });
    expect(done.next.history).toEqual([{ generation: 0, attempt: 1, start: 2000, end: 2500, outcome: 'completed' }]);
    expect(done.expect).toEqual({ states: ['active'], generation: 0, attempts: 1 });
  });

  it('delays by the backoff while attempts remain, then fails', () => {
    const first = moveAfterFailure(claimed(newJob()), 2000, 2100, { message: 'boom' }).next;
    expect(first).toMatchObject({ state: 'delayed', runAt: 3100, error: 'boom', attempts: 1 });
    const second = moveAfterFailure(claimed(first, 3100), 3100, 3200, { message: 'boom again' }).next;
    expect(second).toMatchObject({ state: 'failed', failedAt: 3200, error: 'boom again', attempts: 2 });
    expect(second.history.map((h) => h.outcome)).toEqual(['failed', 'failed']);
  });

  it('fails at once on an unrecoverable error', () => {
    const failed = moveAfterFailure(claimed(newJob()), 2000, 2100, { message: 'bad input', unrecoverable: true });
    expect(failed.next.state).toBe('failed');
  });

  it('records a timeout as its own outcome', () => {
    const t = moveAfterFailure(claimed(newJob()), 2000, 2100, { message: 'Job timed out after 5 ms', timedOut: true });
    expect(t.next.history[0].outcome).toBe('timed-out');
  });

  it('counts a lost execution as a failed attempt, due at once', () => {
    const recovered = recoverLostExecution(claimed(newJob()), 40000);
    expect(recovered.next).toMatchObject({ state: 'delayed', runAt: 40000, error: LOST_EXECUTION_ERROR });
    expect(recovered.expect).toMatchObject({ states: ['active'], activeLeaseEndedBefore: 40000 });
  });
});

describe('backoffDelay', () => {
  it('is constant for fixed and doubles for exponential', () => {
    expect([1, 2, 3].map((a) => backoffDelay({ type: 'fixed', delay: 100 }, a))).toEqual([100, 100, 100]);
    expect([1, 2, 3].map((a) => backoffDelay({ type: 'exponential', delay: 100 }, a))).toEqual([100, 200, 400]);
  });

  it('never waits more than 12 hours, however many attempts came before', () => {
    const twelveHours = 12 * 60 * 60 * 1000;
    expect(backoffDelay({ type: 'exponential', delay: 1000 }, 16)).toBe(32_768_000);
    expect(backoffDelay({ type: 'exponential', delay: 1000 }, 17)).toBe(twelveHours);
    expect(backoffDelay({ type: 'exponential', delay: twelveHours }, 100)).toBe(twelveHours);
    expect(backoffDelay({ type: 'fixed', delay: twelveHours }, 100)).toBe(twelveHours);
  });
});

describe('retry', () => {
  const failedJob = (): Job => {
    let job = claimed(newJob({ attempts: 1 }));
    job = moveAfterFailure(job, 2000, 2100, { message: 'boom' }).next;
    return job;
  };

  it('brings a failed job back with attempts reset and the next generation', () => {
    const t = retry(failedJob(), 5000, 'api')!;
    expect(t.next).toMatchObject({ state: 'waiting', attempts: 0, generation: 1 });
    expect(t.next.retries).toEqual([{ at: 5000, source: 'api', generation: 1 }]);
    expect(t.next.history).toHaveLength(1);
    expect(t.expect).toEqual({ states: ['failed'], generation: 0 });
  });

  it('refuses any job that is not failed', () => {
    expect(retry(newJob(), 5000, 'api')).toBeUndefined();
  });

  it('with new data, replaces it in the same write and records that it changed, and who asked, cut to its budget', () => {
    const t = retry(failedJob(), 5000, 'api', undefined, { data: { fixed: true }, by: 'a'.repeat(500) })!;
    expect(t.next.data).toEqual({ fixed: true });
    expect(t.next.retries).toEqual([{ at: 5000, source: 'api', generation: 1, by: expect.stringMatching(/^a+… \[cut to 128 of 500 bytes\]$/), dataChanged: true }]);
    expect(Buffer.byteLength(t.next.retries[0]!.by!)).toBeLessThanOrEqual(128);
    expect(t.expect).toEqual({ states: ['failed'], generation: 0 });
  });

  it('can be undone back to the failed job of the old generation', () => {
    const before = failedJob();
    const after = retry(before, 5000, 'api')!.next;
    const undo = revertRetry(before, after);
    expect(undo.next).toEqual(before);
    expect(undo.expect).toEqual({ states: ['waiting'], generation: 1, attempts: 0 });
  });
});

describe('ALLOWED_TRANSITIONS', () => {
  it('lets a finished job move only by a retry', () => {
    expect(canTransition('completed', 'waiting')).toBe(false);
    expect(canTransition('failed', 'waiting')).toBe(true);
    expect(canTransition('failed', 'active')).toBe(false);
    expect(canTransition('waiting', 'active')).toBe(true);
  });
});

describe('the budgets of a job item', () => {
  const bytes = (text: string | undefined) => Buffer.byteLength(text ?? '');

  it('cuts an error to 4 KiB, a stack to 16 KiB and a history entry error to 512 bytes', () => {
    const message = 'é'.repeat(10_000);
    const failed = moveAfterFailure(claimed(newJob()), 2000, 2100, { message, stack: `Error: ${message}\n${'    at x\n'.repeat(5000)}` }).next;
    expect(bytes(failed.error)).toBeLessThanOrEqual(4096);
    expect(failed.error).toMatch(/^é+… \[cut to 4096 of 20000 bytes\]$/);
    expect(bytes(failed.stacktrace)).toBeLessThanOrEqual(16 * 1024);
    expect(failed.stacktrace).toMatch(/^Error: é+… \[cut to 16384 of \d+ bytes\]$/);
    expect(bytes(failed.history[0].error)).toBeLessThanOrEqual(512);
    expect(failed.history[0].error).toMatch(/^é+… \[cut to 512 of 20000 bytes\]$/);
  });

  it('keeps an error at its budget as it is, and cuts one a byte longer', () => {
    const message = 'x'.repeat(4096);
    expect(moveAfterFailure(claimed(newJob()), 2000, 2100, { message }).next.error).toBe(message);
    const cut = moveAfterFailure(claimed(newJob()), 2000, 2100, { message: `${message}é` }).next.error!;
    expect(cut).toMatch(/^x+… \[cut to 4096 of 4098 bytes\]$/);
    expect(bytes(cut)).toBe(4096);
  });

  it('keeps the newest 100 history entries and counts those dropped', () => {
    let job = claimed(newJob({ attempts: 100 }));
    for (let n = 1; n <= 99; n++) job = claimed(moveAfterFailure(job, n, n, { message: `failure ${n}` }).next, 3000 + n);
    const full = moveAfterFailure(job, 100, 100, { message: 'failure 100' }).next;
    expect(full.history).toHaveLength(100);
    expect(full.historyDropped).toBeUndefined();
    let again = claimed(retry(full, 5000, 'api')!.next, 6000);
    again = moveToCompleted(again, 6000, 6001, 'ok').next;
    expect(again.history).toHaveLength(100);
    expect(again.historyDropped).toBe(1);
    expect(again.history[0].error).toBe('failure 2');
    expect(again.history.at(-1)).toMatchObject({ generation: 1, attempt: 1, outcome: 'completed' });
  });

  it('marks a result past 64 KiB as not stored, and stores one at its budget', () => {
    const atBudget = 'x'.repeat(64 * 1024 - 2);
    expect(moveToCompleted(claimed(newJob()), 2000, 2100, atBudget).next.returnValue).toBe(atBudget);
    expect(moveToCompleted(claimed(newJob()), 2000, 2100, `${atBudget}x`).next.returnValue).toEqual({
      notStored: 'returnValue not stored: it is 65537 bytes as JSON, over its budget of 65536 bytes',
    });
  });
});
