import { ConfigurationError } from '../core/errors';
import { DEFAULTS, FUNCTION_ENV as ENV, jobTimeoutWithin, localWorkerTimeoutMs } from './settings';

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

const DAY_MS = 24 * 60 * 60 * 1000;

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
  const visibilityTimeoutMs = positiveNumber(env, ENV.visibilityTimeout, DEFAULTS.visibilityTimeoutSeconds) * 1000;
  return {
    tableName: required(env, ENV.tableName),
    queueUrl: required(env, ENV.queueUrl),
    deadLetterQueueUrl: required(env, ENV.deadLetterQueueUrl),
    taskQueueUrl: required(env, ENV.taskQueueUrl),
    visibilityTimeoutMs,
    // the stack sets it from the worker's timeout; elsewhere the worker's timeout is the visibility timeout
    defaultJobTimeoutMs: positiveNumber(env, ENV.jobTimeoutMs, jobTimeoutWithin(localWorkerTimeoutMs(visibilityTimeoutMs))),
    retentionMs: positiveNumber(env, ENV.retentionDays, DEFAULTS.retentionDays) * DAY_MS,
    failedRetentionMs: positiveNumber(env, ENV.failedRetentionDays, DEFAULTS.failedRetentionDays) * DAY_MS,
    reconcileAfterMs: positiveNumber(env, ENV.reconcileAfterMs, DEFAULTS.reconcileAfterLeases * visibilityTimeoutMs),
    indexShards: wholeNumber(env, ENV.indexShards, DEFAULTS.indexShards),
    streamWindowMs: wholeNumber(env, ENV.streamWindowMs, DEFAULTS.streamWindowMs),
  };
};

/** What the functions that read or switch the worker's event source read besides {@link Config}. */
export interface WorkerSwitchConfig {
  /** The worker's SQS event source mapping. */
  readonly mappingUuid: string;
}

export const readWorkerSwitchConfig = (env: NodeJS.ProcessEnv = process.env): WorkerSwitchConfig => ({
  mappingUuid: required(env, ENV.workerMappingUuid),
});
