import { UnrecoverableError } from './errors';
import type { Backoff, HistoryEntry, Job, JobOptions, JobState, RetrySource } from './job';

/** Which state may move to which. Anything else is a bug or a lost race. */
export const ALLOWED_TRANSITIONS: Readonly<Record<JobState, readonly JobState[]>> = {
  waiting: ['active'],
  delayed: ['active'],
  active: ['completed', 'delayed', 'failed'],
  failed: ['waiting'],
  completed: [],
};

export const canTransition = (from: JobState, to: JobState): boolean =>
  ALLOWED_TRANSITIONS[from].includes(to);

/** History is kept across retries; the oldest entries go past this many. */
export const MAX_HISTORY_ENTRIES = 100;

/**
 * What the stored job must still look like for a transition to apply. The
 * store turns it into a conditional write, so two workers (or two retries)
 * racing on one job cannot both win.
 */
export interface Expectation {
  readonly states: readonly JobState[];
  readonly generation: number;
  /** Attempt counter as read; fences a worker whose lease was taken over. */
  readonly attempts?: number;
  /** Also accept an `active` job whose lease ended before this time. */
  readonly activeLeaseEndedBefore?: number;
}

export interface Transition {
  readonly next: Job;
  readonly expect: Expectation;
}

export const backoffDelay = (backoff: Backoff, attempt: number): number =>
  backoff.type === 'exponential' ? backoff.delay * 2 ** Math.max(0, attempt - 1) : backoff.delay;

export interface NewJobInput {
  readonly id: string;
  readonly name: string;
  readonly data: unknown;
  readonly opts: JobOptions;
}

export const createJob = ({ id, name, data, opts }: NewJobInput, now: number): Job => ({
  id,
  name,
  data,
  opts,
  state: opts.delay > 0 ? 'delayed' : 'waiting',
  attempts: 0,
  maxAttempts: opts.attempts,
  generation: 0,
  createdAt: now,
  runAt: opts.delay > 0 ? now + opts.delay : undefined,
  history: [],
  retries: [],
});

/** Why a message may not start an execution now. */
export type ClaimRefusal =
  | { readonly reason: 'stale-generation' }
  | { readonly reason: 'not-yet-due'; readonly waitMs: number }
  | { readonly reason: 'running-elsewhere'; readonly waitMs: number }
  /** Active, but its lease has passed: recover the lost execution first. */
  | { readonly reason: 'lost-execution' }
  | { readonly reason: 'finished'; readonly state: 'completed' | 'failed' };

/**
 * Start an execution for the message's generation: waiting/delayed → active,
 * attempts + 1. Returns the refusal instead when the message must not run.
 */
export const claim = (
  job: Job,
  generation: number,
  now: number,
  leaseMs: number,
): Transition | ClaimRefusal => {
  if (job.generation !== generation) return { reason: 'stale-generation' };
  switch (job.state) {
    case 'completed':
    case 'failed':
      return { reason: 'finished', state: job.state };
    case 'active': {
      const leaseUntil = job.leaseUntil ?? 0;
      return leaseUntil > now ? { reason: 'running-elsewhere', waitMs: leaseUntil - now } : { reason: 'lost-execution' };
    }
    case 'delayed':
      if ((job.runAt ?? 0) > now) return { reason: 'not-yet-due', waitMs: (job.runAt ?? now) - now };
      break;
    case 'waiting':
      break;
  }
  return {
    next: {
      ...job,
      state: 'active',
      attempts: job.attempts + 1,
      processedAt: now,
      leaseUntil: now + leaseMs,
      runAt: undefined,
    },
    expect: { states: [job.state], generation, attempts: job.attempts },
  };
};

export const LOST_EXECUTION_ERROR =
  'Execution lost: the worker stopped before recording an outcome (crash or Lambda timeout)';

/**
 * An active job whose lease has passed lost its worker. That execution counts
 * as a failed attempt; the job is delayed (due now) or, with no attempts
 * left, failed.
 */
export const recoverLostExecution = (job: Job, now: number): Transition =>
  moveAfterFailure(job, job.processedAt ?? now, now, { message: LOST_EXECUTION_ERROR }, { backoff: false, lease: true });

export const isClaimRefusal = (r: Transition | ClaimRefusal): r is ClaimRefusal => 'reason' in r;

const appendHistory = (job: Job, entry: HistoryEntry): readonly HistoryEntry[] =>
  [...job.history, entry].slice(-MAX_HISTORY_ENTRIES);

/** The expectation every outcome of an execution writes under: still ours. */
const stillActive = (job: Job): Expectation => ({
  states: ['active'],
  generation: job.generation,
  attempts: job.attempts,
});

export const moveToCompleted = (job: Job, start: number, now: number, returnValue: unknown): Transition => ({
  next: {
    ...job,
    state: 'completed',
    returnValue,
    finishedAt: now,
    leaseUntil: undefined,
    history: appendHistory(job, {
      generation: job.generation,
      attempt: job.attempts,
      start,
      end: now,
      outcome: 'completed',
    }),
  },
  expect: stillActive(job),
});

export interface ExecutionFailure {
  readonly message: string;
  readonly stack?: string;
  readonly timedOut?: boolean;
  readonly unrecoverable?: boolean;
}

export const describeFailure = (error: unknown, timedOut = false): ExecutionFailure => {
  if (error instanceof Error) {
    return {
      message: error.message,
      stack: error.stack,
      timedOut,
      unrecoverable: error instanceof UnrecoverableError || error.name === 'UnrecoverableError',
    };
  }
  return { message: String(error), timedOut };
};

/**
 * A failed execution: delayed by the backoff while attempts remain, failed
 * for good once they are used up or the error is unrecoverable.
 */
export const moveAfterFailure = (
  job: Job,
  start: number,
  now: number,
  failure: ExecutionFailure,
  options: { backoff: boolean; lease: boolean } = { backoff: true, lease: false },
): Transition => {
  const history = appendHistory(job, {
    generation: job.generation,
    attempt: job.attempts,
    start,
    end: now,
    outcome: failure.timedOut ? 'timed-out' : 'failed',
    error: failure.message,
  });
  const common = { error: failure.message, stacktrace: failure.stack, leaseUntil: undefined, history };
  // a lost execution is recovered by another worker, once the lease has ended
  const expect = options.lease ? { ...stillActive(job), activeLeaseEndedBefore: now } : stillActive(job);
  if (failure.unrecoverable || job.attempts >= job.maxAttempts) {
    return { next: { ...job, ...common, state: 'failed', failedAt: now, finishedAt: now }, expect };
  }
  const delay = options.backoff ? backoffDelay(job.opts.backoff, job.attempts) : 0;
  return { next: { ...job, ...common, state: 'delayed', runAt: now + delay }, expect };
};

/**
 * Bring a failed job back: attempts reset, generation + 1 so that every
 * message of the old generation (DLQ copies, duplicates) is stale from now on.
 */
export const retry = (job: Job, now: number, source: RetrySource, taskId?: string): Transition | undefined => {
  if (job.state !== 'failed') return undefined;
  const generation = job.generation + 1;
  return {
    next: {
      ...job,
      state: 'waiting',
      attempts: 0,
      generation,
      runAt: undefined,
      leaseUntil: undefined,
      finishedAt: undefined,
      retries: [...job.retries, { at: now, source, generation, ...(taskId ? { taskId } : {}) }].slice(-MAX_HISTORY_ENTRIES),
    },
    expect: { states: ['failed'], generation: job.generation },
  };
};

/**
 * Undo a retry whose message could not be sent, so the job stays failed and
 * retryable. The old generation comes back too: its dead-letter copy stays
 * valid for a console redrive, and a message of the new generation that was
 * sent after all is stale.
 */
export const revertRetry = (before: Job, after: Job): Transition => ({
  next: before,
  expect: { states: ['waiting'], generation: after.generation, attempts: 0 },
});
