import type { FailedJobFilter } from './failed-job-filter';
import type { FailedJobSummary, Job, JobMessage, JobState, JobSummary } from './job';
import type { RetryTask, TaskStatus } from './retry-task';
import type { Expectation } from './transitions';

export interface Page<T> {
  readonly items: readonly T[];
  /** Opaque; pass back to get the next page. Absent on the last page. */
  readonly cursor?: string;
}

/** Where jobs live. DynamoDB on AWS and locally; the source of truth. */
export interface JobStore {
  /** Store a new job; DuplicateJobError when its id is taken. */
  create(job: Job): Promise<void>;
  get(jobId: string): Promise<Job | undefined>;
  /**
   * Write `next` only if the stored job still meets `expect`; otherwise throw
   * StateConflictError and change nothing. With `previous`, the job as read
   * (that `expect` describes), a store may write only what differs from it.
   */
  save(next: Job, expect: Expectation, previous?: Job): Promise<void>;
  /**
   * Start an execution in one conditional write, when the job is in
   * `generation` and waiting, or delayed and due: the worker's common case.
   * Resolves with the job as claimed (see `claim` in transitions.ts), or
   * undefined when it is not claimable so; read it to learn why.
   */
  claim(jobId: string, generation: number, now: number, leaseMs: number): Promise<Job | undefined>;
  /** Delete a job only if it still meets `expect` (undoing an enqueue whose message was never sent). */
  remove(jobId: string, expect: Expectation): Promise<void>;
  /**
   * Jobs in one state, most recent state change first; with `changedBefore`,
   * only those that entered it before that time. ValidationError for a bad cursor.
   */
  listByState(state: JobState, limit: number, cursor?: string, changedBefore?: number): Promise<Page<Job>>;
  /** Failed jobs matching `filter`, most recently failed first. ValidationError for a bad cursor. */
  listFailed(filter: FailedJobFilter, limit: number, cursor?: string): Promise<Page<Job>>;
  /** The same page as `listFailed`, with only what a listing shows of each job. */
  listFailedSummaries(filter: FailedJobFilter, limit: number, cursor?: string): Promise<Page<FailedJobSummary>>;
  /**
   * Summaries of the jobs in one state (of one name, when given), most recent
   * state change first, read from an index with only the summary's fields.
   * ValidationError for a bad cursor.
   */
  listSummaries(state: JobState, filter: { readonly name?: string }, limit: number, cursor?: string): Promise<Page<JobSummary>>;
  /** Failed jobs matching `filter`, counted up to `upTo` (all of them without it). */
  countFailed(filter: FailedJobFilter, upTo?: number): Promise<number>;
  /** Jobs per state, from counters kept with each change: the same cost at any number of jobs. */
  countByState(): Promise<Record<JobState, number>>;
  /**
   * Count every job by reading them all (slow) and set the counters to the
   * result; undefined, changing nothing, when jobs moved meanwhile.
   */
  recount(): Promise<Record<JobState, number> | undefined>;
  /**
   * Count one page of the jobs in `state` (a few thousand at most), from
   * `cursor` (from the page before); `cursor` in the answer is absent after the last page.
   */
  countStatePage(state: JobState, cursor?: string): Promise<{ count: number; cursor?: string }>;
  /**
   * Add `delta` to the counter of `state`, once for each `token`: the same
   * token given again (a retry after a crash) changes nothing.
   */
  adjustCount(state: JobState, delta: number, token: string): Promise<void>;
  /** Jobs completed and failed per minute over the last `minutes` minutes, oldest first. */
  throughput(minutes: number, now: number): Promise<MinuteThroughput[]>;
  /**
   * Add a batch of changes of state to the counters (the table's stream is
   * their one writer): the same batch given again, after a failure, adds
   * nothing where it was written before.
   */
  countChanges(changes: CounterChanges): Promise<void>;
  /**
   * Dead-letter copies made stale so far (each time a job left `failed`:
   * retried or removed), and how many of those a sweep has covered (`markSwept`).
   */
  staleCopies(): Promise<{ made: number; swept: number }>;
  /** Note that a sweep of the dead letters left none of the first `made` stale copies. */
  markSwept(made: number): Promise<void>;
}

/** What a batch of changes of state adds up to. */
export interface CounterChanges {
  /** Names the batch, the same each time it is handed over. */
  readonly batch: string;
  /** Per state, the jobs it gained (or lost, below 0); `leftFailed`: the jobs that left `failed`. */
  readonly states: Readonly<Record<string, number>>;
  /** Per epoch minute, the executions that completed and failed in it. */
  readonly minutes: ReadonlyMap<number, { readonly completed: number; readonly failed: number }>;
}

export interface MinuteThroughput {
  /** Start of the minute, epoch ms. */
  readonly minute: number;
  readonly completed: number;
  readonly failed: number;
}

export interface QueueDepth {
  /** Messages ready to be received. */
  readonly visible: number;
  /** Received and not yet deleted or returned. */
  readonly inFlight: number;
  readonly delayed: number;
}

/** A received message to hold back, by its receipt. */
export interface HiddenMessage {
  readonly receiptHandle: string;
  readonly delayMs: number;
}

/** The transport that wakes workers. SQS main queue plus its dead-letter queue. */
export interface JobQueue {
  /**
   * Send to the main queue, batching as the transport allows. Resolves with
   * the messages that could not be sent (empty when all were).
   */
  send(messages: readonly JobMessage[], delayMs?: number): Promise<readonly JobMessage[]>;
  /** Keep a copy of a failed job's message in the dead-letter queue. */
  sendToDeadLetter(message: JobMessage): Promise<void>;
  /**
   * Look through up to `maxMessages` dead-letter messages and delete those
   * `isStale` says no one needs; the others are left as they were. Resolves
   * with the number deleted.
   */
  sweepDeadLetters(isStale: (message: JobMessage) => Promise<boolean>, maxMessages: number): Promise<number>;
  /**
   * Hide received messages, each for its `delayMs`, before they are delivered
   * again: a worker batch's returns go together, in one request per 10.
   */
  hide(messages: readonly HiddenMessage[]): Promise<void>;
  depths(): Promise<{ main: QueueDepth; deadLetter: QueueDepth }>;
}

/** Where retry tasks live, beside the jobs. */
export interface RetryTaskStore {
  /** Store a new task. */
  createTask(task: RetryTask): Promise<void>;
  getTask(taskId: string): Promise<RetryTask | undefined>;
  /**
   * Write `next` only if the stored task still has `expectVersion` (and one of
   * `expectStatuses`, when given); otherwise throw StateConflictError.
   */
  saveTask(next: RetryTask, expectVersion: number, expectStatuses?: readonly TaskStatus[]): Promise<void>;
  /** Running tasks whose runner's lease ended before `before`: their runner died. */
  listAbandonedTasks(before: number): Promise<readonly RetryTask[]>;
  /** Every task, the most recently started first. ValidationError for a bad cursor. */
  listTasks(limit: number, cursor?: string): Promise<Page<RetryTask>>;
}

/** Wakes a task runner: on AWS a message to the tasks queue, whose function runs one chunk. */
export interface TaskQueue {
  sendTask(taskId: string, delayMs?: number): Promise<void>;
}

/** What a processor gets for one execution. */
export interface ProcessorJob<T = unknown> {
  readonly id: string;
  readonly name: string;
  readonly data: T;
  /** Attempt within the current generation, from 1. */
  readonly attempt: number;
  /** Executions so far across all retries, this one included. */
  readonly executions: number;
  /** Aborted when the execution times out. */
  readonly signal: AbortSignal;
}

export type Processor<T = unknown> = (job: ProcessorJob<T>) => Promise<unknown>;

/**
 * Whether the worker's event source delivers jobs: on AWS the worker's SQS
 * event source mapping, which is the truth of it. `paused` is true while it
 * stops (in-flight batches finish) and once it has stopped.
 */
export interface WorkerSourceStatus {
  readonly paused: boolean;
  /** As the source names it (on AWS: Enabled, Enabling, Disabled, Disabling, Updating, …). */
  readonly state: string;
}

/** Starts and stops the worker's event source. */
export interface WorkerSwitch {
  status(): Promise<WorkerSourceStatus>;
  /**
   * Ask the source to stop (`paused` true) or start delivering; resolves with
   * its status after the request. WorkerSwitchBusyError while it is between
   * two states and takes no change.
   */
  setPaused(paused: boolean): Promise<WorkerSourceStatus>;
}

/** Who paused or resumed the worker through the API, and when. */
export interface WorkerChange {
  readonly paused: boolean;
  readonly by: string;
  /** Epoch ms. */
  readonly at: number;
}

/** Where the last change through the API is kept, beside the jobs. */
export interface WorkerChangeLog {
  last(): Promise<WorkerChange | undefined>;
  /** Keep `change` unless a later one is kept already. */
  record(change: WorkerChange): Promise<void>;
}
