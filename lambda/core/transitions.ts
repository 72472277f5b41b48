import type { Backoff, HistoryEntry, Job, JobOptions, JobState, RetrySource } from './job';
import { cutToBytes } from './byte-budget';
import type { ExecutionFailure } from './execution-failure';
import { BUDGETS, LIMITS } from './limits';
import { storableReturnValue } from './stored-outcome';

/** Which state may move to which. Anything else is a bug or a lost race. */
export const ALLOWED_TRANSITIONS: Readonly<Record<JobState, readonly JobState[]>> = {
  waiting: ['active'],
  // a promotion: run now rather than when due
  delayed: ['active', 'waiting'],
  active: ['completed', 'delayed', 'failed'],
  failed: ['waiting'],
  completed: [],
};

export const canTransition = (from: JobState, to: JobState): boolean =>
  ALLOWED_TRANSITIONS[from].includes(to);

/** History is kept across retries; the oldest entries go past this many (counted in `historyDropped`). */
export const MAX_HISTORY_ENTRIES = BUDGETS.historyEntries;

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

/** At most LIMITS.maxBackoffDelayMs, the longest SQS can hide a message: doubling for 100 attempts passes it by far. */
export const backoffDelay = (backoff: Backoff, attempt: number): number =>
  Math.min(
    LIMITS.maxBackoffDelayMs,
    backoff.type === 'exponential' ? backoff.delay * 2 ** Math.max(0, attempt - 1) : backoff.delay,
  );

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

/** The history with `entry` added, the oldest entries past its budget dropped and counted. */
const appendHistory = (job: Job, entry: HistoryEntry): Pick<Job, 'history' | 'historyDropped'> => {
  const history = [...job.history, entry];
  const dropped = Math.max(0, history.length - MAX_HISTORY_ENTRIES);
  if (dropped === 0) return { history };
  return { history: history.slice(dropped), historyDropped: (job.historyDropped ?? 0) + dropped };
};

/** The expectation every outcome of an execution writes under: still ours. */
const stillActive = (job: Job): Expectation => ({
  states: ['active'],
  generation: job.generation,
  attempts: job.attempts,
});

/** A successful execution. `returnValue` is whatever the processor returned: it is stored as `storableReturnValue` makes it. */
export const moveToCompleted = (job: Job, start: number, now: number, returnValue: unknown): Transition => ({
  next: {
    ...job,
    state: 'completed',
    returnValue: storableReturnValue(returnValue),
    finishedAt: now,
    leaseUntil: undefined,
    ...appendHistory(job, {
      generation: job.generation,
      attempt: job.attempts,
      start,
      end: now,
      outcome: 'completed',
    }),
  },
  expect: stillActive(job),
});

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
  // each cut to its budget, so that no number of failures takes the item past DynamoDB's limit
  const history = appendHistory(job, {
    generation: job.generation,
    attempt: job.attempts,
    start,
    end: now,
    outcome: failure.timedOut ? 'timed-out' : 'failed',
    error: cutToBytes(failure.message, BUDGETS.historyErrorBytes),
  });
  const common = {
    error: cutToBytes(failure.message, BUDGETS.errorBytes),
    stacktrace: failure.stack === undefined ? undefined : cutToBytes(failure.stack, BUDGETS.stackBytes),
    leaseUntil: undefined,
    ...history,
  };
  // a lost execution is recovered by another worker, once the lease has ended
  const expect = options.lease ? { ...stillActive(job), activeLeaseEndedBefore: now } : stillActive(job);
  if (failure.unrecoverable || job.attempts >= job.maxAttempts) {
    return { next: { ...job, ...common, state: 'failed', failedAt: now, finishedAt: now }, expect };
  }
  const delay = options.backoff ? backoffDelay(job.opts.backoff, job.attempts) : 0;
  return { next: { ...job, ...common, state: 'delayed', runAt: now + delay }, expect };
};

/** What a retry may change besides the state, and who asked for it. */
export interface RetryChange {
  /** New data for the job, already validated as an enqueue's (present: replaced, even by null). */
  readonly data?: unknown;
  readonly by?: string;
}

/**
 * Bring a failed job back: attempts reset, generation + 1 so that every
 * message of the old generation (DLQ copies, duplicates) is stale from now on.
 * With `change.data`, the job runs with that data from now on, written in the
 * same conditional write, and its retry record says the data changed.
 */
export const retry = (
  job: Job,
  now: number,
  source: RetrySource,
  taskId?: string,
  change: RetryChange = {},
): Transition | undefined => {
  if (job.state !== 'failed') return undefined;
  const generation = job.generation + 1;
  const dataChanged = 'data' in change;
  const record = {
    at: now,
    source,
    generation,
    ...(taskId ? { taskId } : {}),
    ...(change.by !== undefined ? { by: cutToBytes(change.by, BUDGETS.actorBytes) } : {}),
    ...(dataChanged ? { dataChanged: true as const } : {}),
  };
  return {
    next: {
      ...job,
      ...(dataChanged ? { data: change.data ?? null } : {}),
      state: 'waiting',
      attempts: 0,
      generation,
      runAt: undefined,
      leaseUntil: undefined,
      finishedAt: undefined,
      retries: [...job.retries, record].slice(-MAX_HISTORY_ENTRIES),
    },
    expect: { states: ['failed'], generation: job.generation },
  };
};

/**
 * Run a delayed job now: delayed → waiting, in the same generation and
 * attempt (the conditional write fences a claim that got there first). The
 * message already on its way for the job finds it claimed or done, and is
 * dropped or kept hidden as any duplicate is.
 */
export const promote = (job: Job): Transition | undefined => {
  if (job.state !== 'delayed') return undefined;
  return {
    next: { ...job, state: 'waiting', runAt: undefined },
    expect: { states: ['delayed'], generation: job.generation, attempts: job.attempts },
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
