import { DependencyUnavailableError, JobNotFailedError, JobNotFoundError, JobWriteRefusedError, StateConflictError } from './errors';
import { describeThrown } from './describe-value';
import { describeFailure } from './execution-failure';
import type { Job, JobMessage } from './job';
import type { JobQueue, JobStore, Processor } from './ports';
import { claimRetry, revertUnsent } from './retry-failed-job';
import { withSmallestOutcome } from './stored-outcome';
import { claim, isClaimRefusal, moveAfterFailure, moveToCompleted, recoverLostExecution, type Transition } from './transitions';

/** Just what the worker logs through; Powertools' Logger fits it. */
export interface WorkerLog {
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

export interface WorkerDeps {
  readonly store: JobStore;
  readonly queue: JobQueue;
  readonly findProcessor: (name: string) => Processor | undefined;
  readonly log: WorkerLog;
  /** An active job's lease: the queue's visibility timeout. */
  readonly leaseMs: number;
  /** Execution time limit for a job without `opts.timeout`. */
  readonly defaultTimeoutMs: number;
  readonly now?: () => number;
  /** Waits between tries to record an outcome. @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * What to do with the message once handled: delete it, or hide it for a
 * while and let it come back (a backoff, a job not yet due, one running
 * elsewhere).
 */
export type MessageOutcome = { readonly kind: 'delete' } | { readonly kind: 'return-later'; readonly delayMs: number };

const DELETE: MessageOutcome = { kind: 'delete' };
const later = (delayMs: number): MessageOutcome => ({ kind: 'return-later', delayMs });

export const parseJobMessage = (body: string): JobMessage | undefined => {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  const m = value as Partial<JobMessage> | null;
  if (typeof m !== 'object' || m === null) return undefined;
  if (typeof m.jobId !== 'string' || m.jobId.length === 0) return undefined;
  if (!Number.isInteger(m.generation) || (m.generation as number) < 0) return undefined;
  return { jobId: m.jobId, generation: m.generation as number, ...(m.deadLettered === true ? { deadLettered: true } : {}) };
};

class ExecutionTimeoutError extends Error {
  constructor(ms: number, cutShort: boolean) {
    super(
      cutShort
        ? `Job timed out after ${ms} ms: the worker had no more time left (its function timeout); lower opts.timeout or raise the worker's`
        : `Job timed out after ${ms} ms`,
    );
    this.name = 'ExecutionTimeoutError';
  }
}

// instanceof throws on a revoked Proxy, which a processor may throw
const isTimeout = (error: unknown): boolean => {
  try {
    return error instanceof ExecutionTimeoutError;
  } catch {
    return false;
  }
};

const runWithTimeout = async (processor: Processor, job: Job, timeoutMs: number, cutShort: boolean): Promise<unknown> => {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new ExecutionTimeoutError(timeoutMs, cutShort);
      controller.abort(error);
      reject(error);
    }, timeoutMs);
  });
  try {
    return await Promise.race([
      processor({
        id: job.id,
        name: job.name,
        data: job.data,
        attempt: job.attempts,
        // history keeps only its newest entries: count those it dropped too
        executions: job.history.length + (job.historyDropped ?? 0) + 1,
        signal: controller.signal,
      }),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
};

/**
 * Handle one message of the main queue: run the job it names, exactly when
 * the message is for the job's current generation and the job is due.
 */
export const processJobMessage = async (
  deps: WorkerDeps,
  body: string,
  remainingMs = Number.POSITIVE_INFINITY,
): Promise<MessageOutcome> => {
  const { store, log, now = Date.now } = deps;
  const message = parseJobMessage(body);
  if (!message) {
    log.warn('Dropping a message that is not a job message', { body: body.slice(0, 500) });
    return DELETE;
  }
  if (!message.deadLettered) {
    // the common case, in one write: the job is waiting, or delayed and due
    const claimed = await store.claim(message.jobId, message.generation, now(), deps.leaseMs);
    if (claimed) return execute(deps, claimed, remainingMs);
  }
  // otherwise read the job to see why not
  let job = await store.get(message.jobId);
  if (!job) {
    log.warn('Dropping a message for a job that does not exist', { ...message });
    return DELETE;
  }
  if (job.generation === message.generation && job.state === 'failed') {
    return message.deadLettered ? redrive(deps, job) : keepDeadLetterCopy(deps, job);
  }
  let decision = claim(job, message.generation, now(), deps.leaseMs);
  if (isClaimRefusal(decision) && decision.reason === 'lost-execution') {
    const recovered = await write(deps, recoverLostExecution(job, now()), job);
    if (!recovered) return later(deps.leaseMs);
    log.warn('Recovered a lost execution', { jobId: job.id, state: recovered.state, attempts: recovered.attempts });
    if (recovered.state === 'failed') return moveToDeadLetter(deps, recovered);
    job = recovered;
    decision = claim(job, message.generation, now(), deps.leaseMs);
  }
  if (isClaimRefusal(decision)) {
    switch (decision.reason) {
      case 'stale-generation':
        log.info('Dropping a message of an old generation', { ...message, currentGeneration: job.generation });
        return DELETE;
      case 'finished':
        return DELETE;
      case 'not-yet-due':
      case 'running-elsewhere':
        return later(decision.waitMs);
      case 'lost-execution':
        return later(deps.leaseMs);
    }
  }
  const active = await write(deps, decision, job);
  // another delivery of this message claimed it first: look again once its lease ends
  if (!active) return later(deps.leaseMs);
  return execute(deps, active, remainingMs);
};

/** A conditional write from `previous`, that may lose a race; resolves with the written job, or undefined when it lost. */
const write = async ({ store }: WorkerDeps, transition: Transition, previous: Job): Promise<Job | undefined> => {
  try {
    await store.save(transition.next, transition.expect, previous);
    return transition.next;
  } catch (error) {
    if (error instanceof StateConflictError) return undefined;
    throw error;
  }
};

const execute = async (deps: WorkerDeps, job: Job, remainingMs: number): Promise<MessageOutcome> => {
  const { log, now = Date.now } = deps;
  // the execution started when it was claimed
  const start = job.processedAt ?? now();
  const processor = deps.findProcessor(job.name);
  let transition: Transition;
  if (!processor) {
    transition = moveAfterFailure(job, start, now(), {
      message: `No processor registered for job name '${job.name}'`,
      unrecoverable: true,
    });
  } else {
    // leave the worker a moment to record the outcome before its own time runs out
    const wanted = job.opts.timeout ?? deps.defaultTimeoutMs;
    const timeoutMs = Math.max(1, Math.min(wanted, remainingMs - 2000));
    try {
      const returnValue = await runWithTimeout(processor, job, timeoutMs, timeoutMs < wanted);
      transition = moveToCompleted(job, start, now(), returnValue);
    } catch (error) {
      transition = moveAfterFailure(job, start, now(), describeFailure(error, isTimeout(error)));
    }
  }
  const next = await recordOutcome(deps, transition, job, remainingMs);
  if (!next) {
    log.warn('Outcome not recorded: the job changed while it ran (lease lost)', { jobId: job.id });
    return DELETE;
  }
  const error = next.state === 'completed' ? {} : { error: next.error };
  log.info(`Job ${next.state}`, { jobId: job.id, name: job.name, attempt: job.attempts, ...error });
  if (next.state === 'failed') return moveToDeadLetter(deps, next);
  if (next.state === 'delayed') return later((next.runAt ?? now()) - now());
  return DELETE;
};

/** Tries beyond the SDK's own to record an outcome while DynamoDB is unavailable, and the wait before each. */
const OUTCOME_RETRY_DELAYS_MS = [1000, 2000, 4000];

/**
 * Write an execution's outcome. The processor has run: losing the outcome
 * would count the run as lost and run it again, so a refused write is logged
 * and retried in its smallest form, and an unavailable store is tried again
 * while the function has time left (the SDK has retried already). Resolves
 * undefined when another worker took the job over meanwhile.
 */
const recordOutcome = async (deps: WorkerDeps, transition: Transition, job: Job, remainingMs: number): Promise<Job | undefined> => {
  const { log, now = Date.now, sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)) } = deps;
  const deadline = now() + remainingMs - 1000;
  let outcome = transition;
  let refused = false;
  for (let retried = 0; ; ) {
    try {
      return await write(deps, outcome, job);
    } catch (error) {
      if (error instanceof JobWriteRefusedError && !refused) {
        log.error('Outcome refused by the store; recording it without stack, result and older history', {
          jobId: job.id,
          state: outcome.next.state,
          reason: error.reason,
        });
        outcome = withSmallestOutcome(outcome, error.reason);
        refused = true;
        continue;
      }
      const wait = OUTCOME_RETRY_DELAYS_MS[retried];
      if (error instanceof DependencyUnavailableError && wait !== undefined && now() + wait < deadline) {
        log.warn('Could not record an outcome: the store is unavailable; trying again', { jobId: job.id, inMs: wait });
        retried++;
        await sleep(wait);
        continue;
      }
      log.error('Outcome not recorded; the execution will count as lost', {
        jobId: job.id,
        state: outcome.next.state,
        reason: error instanceof JobWriteRefusedError ? error.reason : describeThrown(error),
      });
      throw error;
    }
  }
};

/**
 * The job failed for good: keep a copy of its message in the dead-letter
 * queue. If that send fails the error propagates, the message comes back and
 * `keepDeadLetterCopy` tries again; DynamoDB already says failed.
 */
const moveToDeadLetter = async ({ queue }: WorkerDeps, job: Job): Promise<MessageOutcome> => {
  await queue.sendToDeadLetter({ jobId: job.id, generation: job.generation });
  return DELETE;
};

/** The job's own message, back after its dead-letter copy could not be sent. */
const keepDeadLetterCopy = moveToDeadLetter;

/**
 * A dead-letter copy moved back to the main queue (the AWS console's redrive,
 * or any StartMessageMoveTask) for a job that is still failed: a retry, as if
 * asked through the API. The conditional write makes it happen once.
 */
const redrive = async (deps: WorkerDeps, job: Job): Promise<MessageOutcome> => {
  const { store, queue, log, now = Date.now } = deps;
  let next: Job;
  try {
    next = (await claimRetry(store, job, now(), 'redrive')).next;
  } catch (error) {
    if (error instanceof JobNotFailedError || error instanceof JobNotFoundError) return DELETE;
    throw error;
  }
  const unsent = await queue.send([{ jobId: job.id, generation: next.generation }]);
  if (unsent.length > 0) {
    await revertUnsent(store, [{ before: job, after: next }]);
    throw new Error(`Could not send the retry of redriven job ${job.id}; the message will come back`);
  }
  log.info('Redriven job queued for retry', { jobId: job.id, generation: next.generation });
  return DELETE;
};
