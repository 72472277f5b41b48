/**
 * The job domain. A job is one named unit of work with its data, options and
 * the record of every execution, kept across retries.
 *
 * Lifecycle:
 *
 *   enqueue ──► waiting ──claim──► active ──complete──► completed
 *        │                  ▲        │
 *        └─(opts.delay)─► delayed ◄──┤ fail, attempts left (backoff)
 *                                    │
 *                                    └─ fail, no attempts left ──► failed
 *                                                                   │
 *   retry (API or console redrive): failed ──► waiting, attempts 0, generation + 1
 */

import type { failedJobSummarySchema, jobDetailsSchema, jobSummarySchema, ResponseBody } from './api-schemas';

export const JOB_STATES = ['waiting', 'active', 'completed', 'failed', 'delayed'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** Backoff as data: `fixed` waits `delay` ms each time, `exponential` waits `delay * 2^(attempt-1)`. */
export interface Backoff {
  readonly type: 'fixed' | 'exponential';
  /** Milliseconds. */
  readonly delay: number;
}

export interface JobOptions {
  /** Executions allowed per generation before the job fails. @default 3 */
  readonly attempts: number;
  /** Wait between a failed attempt and the next. @default {type: 'fixed', delay: 0} */
  readonly backoff: Backoff;
  /** Milliseconds to wait before the first attempt. @default 0 */
  readonly delay: number;
  /** Milliseconds one execution may run before it fails as timed out. Unset: the worker's default. */
  readonly timeout?: number;
}

export type ExecutionOutcome = 'completed' | 'failed' | 'timed-out';

/** One execution of the processor. */
export interface HistoryEntry {
  /** Generation the execution belonged to (0 for the first run, +1 per retry). */
  readonly generation: number;
  /** Attempt number within that generation, from 1. */
  readonly attempt: number;
  readonly start: number;
  readonly end: number;
  readonly outcome: ExecutionOutcome;
  readonly error?: string;
}

/** How a failed job was brought back. */
export type RetrySource = 'api' | 'redrive';

export interface RetryRecord {
  readonly at: number;
  readonly source: RetrySource;
  /** The generation the retry started. */
  readonly generation: number;
  /** The retry task that made it, if one did: how a task counts its own retries after a crash. */
  readonly taskId?: string;
  /** Who asked for it (an IAM principal's ARN, a JWT's subject, `local`), cut to BUDGETS.actorBytes. */
  readonly by?: string;
  /** The retry replaced the job's data (`at` says when): the executions before it ran with other data. */
  readonly dataChanged?: true;
}

export interface Job {
  readonly id: string;
  readonly name: string;
  readonly data: unknown;
  readonly opts: JobOptions;
  readonly state: JobState;
  /** Executions started in the current generation. Reset to 0 by a retry. */
  readonly attempts: number;
  /** Equal to `opts.attempts`. */
  readonly maxAttempts: number;
  /**
   * Fencing token: every queue message names the generation it was sent for,
   * and a message whose generation is not the job's current one never runs.
   */
  readonly generation: number;
  /** Message and stack of the last failed execution. */
  readonly error?: string;
  readonly stacktrace?: string;
  /** What the processor returned, once completed. */
  readonly returnValue?: unknown;
  readonly createdAt: number;
  /** Start of the last execution. */
  readonly processedAt?: number;
  /** When the job completed or failed. */
  readonly finishedAt?: number;
  readonly failedAt?: number;
  /** Earliest time the next attempt may start (delayed jobs). */
  readonly runAt?: number;
  /** An active job whose lease has passed lost its worker and may be claimed again. */
  readonly leaseUntil?: number;
  /** When the reconciler last sent this job a fresh message. */
  readonly resentAt?: number;
  /** One entry per execution, newest last, at most BUDGETS.historyEntries of them. */
  readonly history: readonly HistoryEntry[];
  /** Entries dropped from the start of `history` to keep it within its budget. */
  readonly historyDropped?: number;
  readonly retries: readonly RetryRecord[];
}

/**
 * When the job entered its state (for a delayed job: when it is due). Jobs of
 * one state are listed by it, newest first. A pending job's time moves on
 * when the reconciler re-sends it, so it is not picked again on the next pass.
 */
export const stateChangedAt = (job: Job): number => {
  const pending = (at: number) => Math.max(at, job.resentAt ?? 0);
  switch (job.state) {
    case 'failed':
      return job.failedAt ?? job.createdAt;
    case 'completed':
      return job.finishedAt ?? job.createdAt;
    case 'active':
      return pending(job.processedAt ?? job.createdAt);
    case 'delayed':
      return pending(job.runAt ?? job.createdAt);
    case 'waiting':
      return pending(job.retries.at(-1)?.at ?? job.createdAt);
  }
};

/** What a failed-job listing shows for each job. */
export type FailedJobSummary = ResponseBody<typeof failedJobSummarySchema>;

export const toFailedJobSummary = (job: Job): FailedJobSummary => ({
  id: job.id,
  name: job.name,
  data: job.data,
  error: job.error ?? null,
  failedAt: job.failedAt ?? null,
  attempts: job.attempts,
  maxAttempts: job.maxAttempts,
});

/**
 * What `GET /jobs?state=` shows for each job: no data, no history.
 * `updatedAt` is when the job entered its state's group, as listings sort it
 * ({@link stateChangedAt}).
 */
export type JobSummary = ResponseBody<typeof jobSummarySchema>;

export const toJobSummary = (job: Job): JobSummary => ({
  id: job.id,
  name: job.name,
  state: job.state,
  attempts: job.attempts,
  maxAttempts: job.maxAttempts,
  createdAt: job.createdAt,
  updatedAt: stateChangedAt(job),
  ...(job.runAt !== undefined ? { runAt: job.runAt } : {}),
  ...(job.failedAt !== undefined ? { failedAt: job.failedAt } : {}),
  ...(job.error !== undefined ? { error: job.error } : {}),
});

/** The queue message: which job, and for which generation. */
export interface JobMessage {
  readonly jobId: string;
  readonly generation: number;
  /**
   * Set on the copy sent to the dead-letter queue. Such a copy seen again on the
   * main queue was moved back by a redrive (the AWS console's or any
   * StartMessageMoveTask), which runs as a retry.
   */
  readonly deadLettered?: true;
}

/** A job as `GET /jobs/details/:jobId` shows it: every field present, null when unset. */
export const toJobDetails = (job: Job): ResponseBody<typeof jobDetailsSchema> => ({
  id: job.id,
  name: job.name,
  data: job.data,
  opts: job.opts,
  state: job.state,
  attempts: job.attempts,
  maxAttempts: job.maxAttempts,
  generation: job.generation,
  error: job.error ?? null,
  stacktrace: job.stacktrace ?? null,
  returnValue: job.returnValue ?? null,
  createdAt: job.createdAt,
  processedAt: job.processedAt ?? null,
  finishedAt: job.finishedAt ?? null,
  failedAt: job.failedAt ?? null,
  runAt: job.runAt ?? null,
  history: job.history,
  historyDropped: job.historyDropped ?? 0,
  retries: job.retries,
});
