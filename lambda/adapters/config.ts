import { ConfigurationError } from '../core/errors';
import { JOB_CHANGES_COUNTER } from '../routes';
import { JOB_TABLE } from './table-schema';

/**
 * Settings read once, at cold start. A missing required variable stops the
 * function loudly instead of failing later on an empty table name.
 */
export interface Config {
  readonly tableName: string;
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
  /** Wakes the retry-task runner. */
  readonly taskQueueUrl: string;
  /** The main queue's visibility timeout; an active job's lease lasts this long. */
  readonly visibilityTimeoutMs: number;
  /** How long one execution may run when the job sets no `opts.timeout`. */
  readonly defaultJobTimeoutMs: number;
  /** Completed jobs expire from the table this long after they finish. */
  readonly retentionMs: number;
  /** Failed jobs expire this long after they fail (the dead-letter queue keeps its copies 14 days). */
  readonly failedRetentionMs: number;
  /** The scheduled reconciler re-sends pending jobs that have not moved for this long. */
  readonly reconcileAfterMs: number;
  /** Shards of each index partition of the job table: the same for every function of a table. */
  readonly indexShards: number;
  /**
   * How long the table stream's event source gathers changes before it
   * invokes the counting function: the counters lag the jobs by about this.
   */
  readonly streamWindowMs: number;
}

const required = (env: NodeJS.ProcessEnv, name: string): string => {
  const value = env[name];
  if (!value) throw new ConfigurationError(`Environment variable ${name} is required but not set`);
  return value;
};

const positiveNumber = (env: NodeJS.ProcessEnv, name: string, fallback: number): number => {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new ConfigurationError(`Environment variable ${name} must be a positive number, got '${raw}'`);
  }
  return value;
};

const wholeNumber = (env: NodeJS.ProcessEnv, name: string, fallback: number): number => {
  const value = positiveNumber(env, name, fallback);
  if (!Number.isSafeInteger(value)) throw new ConfigurationError(`Environment variable ${name} must be a whole number, got '${env[name]}'`);
  return value;
};

export const readConfig = (env: NodeJS.ProcessEnv = process.env): Config => {
  const visibilityTimeoutMs = positiveNumber(env, 'REQUEUE_VISIBILITY_TIMEOUT', 30) * 1000;
  return {
    tableName: required(env, 'REQUEUE_TABLE_NAME'),
    queueUrl: required(env, 'REQUEUE_QUEUE_URL'),
    deadLetterQueueUrl: required(env, 'REQUEUE_DLQ_URL'),
    taskQueueUrl: required(env, 'REQUEUE_TASK_QUEUE_URL'),
    visibilityTimeoutMs,
    // leave the worker time to record the outcome before its lease ends
    defaultJobTimeoutMs: positiveNumber(env, 'REQUEUE_JOB_TIMEOUT_MS', Math.max(1000, visibilityTimeoutMs - 5000)),
    retentionMs: positiveNumber(env, 'REQUEUE_RETENTION_DAYS', 7) * 24 * 60 * 60 * 1000,
    failedRetentionMs: positiveNumber(env, 'REQUEUE_FAILED_RETENTION_DAYS', 30) * 24 * 60 * 60 * 1000,
    // past two leases, a pending job's message is presumed lost
    reconcileAfterMs: positiveNumber(env, 'REQUEUE_RECONCILE_AFTER_MS', 2 * visibilityTimeoutMs),
    indexShards: wholeNumber(env, 'REQUEUE_INDEX_SHARDS', JOB_TABLE.indexShards),
    // the stack's mapping's; the local runtime sets its own
    streamWindowMs: wholeNumber(env, 'REQUEUE_STREAM_WINDOW_MS', JOB_CHANGES_COUNTER.maxBatchingWindowSeconds * 1000),
  };
};

/** What the functions that read or switch the worker's event source read besides {@link Config}. */
export interface WorkerSwitchConfig {
  /** The worker's SQS event source mapping. */
  readonly mappingUuid: string;
}

export const readWorkerSwitchConfig = (env: NodeJS.ProcessEnv = process.env): WorkerSwitchConfig => ({
  mappingUuid: required(env, 'REQUEUE_WORKER_MAPPING_UUID'),
});
