import { LIMITS } from '../core/limits';
import { JOB_CHANGES_COUNTER, TASK_RUNNER } from '../routes';
import { JOB_TABLE } from './table-schema';

/**
 * Every setting of requeue, named and given its default once: the CDK stack
 * writes the functions' environment from these names, the functions read it
 * (config.ts), and the local runtime sets it and reads its own (local/).
 * Plain data, no AWS SDK: each Lambda bundle carries it.
 */

/** The environment variables the functions read at cold start. */
export const FUNCTION_ENV = {
  tableName: 'REQUEUE_TABLE_NAME',
  queueUrl: 'REQUEUE_QUEUE_URL',
  deadLetterQueueUrl: 'REQUEUE_DLQ_URL',
  taskQueueUrl: 'REQUEUE_TASK_QUEUE_URL',
  /** Seconds. */
  visibilityTimeout: 'REQUEUE_VISIBILITY_TIMEOUT',
  jobTimeoutMs: 'REQUEUE_JOB_TIMEOUT_MS',
  retentionDays: 'REQUEUE_RETENTION_DAYS',
  failedRetentionDays: 'REQUEUE_FAILED_RETENTION_DAYS',
  reconcileAfterMs: 'REQUEUE_RECONCILE_AFTER_MS',
  indexShards: 'REQUEUE_INDEX_SHARDS',
  streamWindowMs: 'REQUEUE_STREAM_WINDOW_MS',
  /** Only the functions that read or switch the worker's event source mapping are given it. */
  workerMappingUuid: 'REQUEUE_WORKER_MAPPING_UUID',
} as const;

/** The environment variables of the local runtime (`npm start`) alone. */
export const LOCAL_ENV = {
  port: 'PORT',
  host: 'HOST',
  sqsPort: 'SQS_PORT',
  dynamoDbPort: 'DYNAMODB_PORT',
  apiKey: 'REQUEUE_API_KEY',
  dataDir: 'REQUEUE_DATA_DIR',
  workerConcurrency: 'REQUEUE_WORKER_CONCURRENCY',
} as const;

/** Lambda's longest function timeout. */
export const MAX_FUNCTION_TIMEOUT_SECONDS = 15 * 60;

/**
 * SQS's advice for a queue that feeds a Lambda function: hide a received
 * message six times the function's timeout, so that retries of a throttled
 * batch still find it hidden.
 */
export const VISIBILITY_PER_FUNCTION_TIMEOUT = 6;

/** A job's default time limit leaves its worker this long to record the outcome before the worker's own timeout. */
export const JOB_TIMEOUT_MARGIN_MS = 10_000;

/** A job's default time limit in a worker whose timeout is `workerTimeoutMs`. */
export const jobTimeoutWithin = (workerTimeoutMs: number): number => Math.max(1000, workerTimeoutMs - JOB_TIMEOUT_MARGIN_MS);

/**
 * The worker's timeout where no stack gives it one (the local runtime): the
 * main queue's visibility timeout, within Lambda's limit.
 */
export const localWorkerTimeoutMs = (visibilityTimeoutMs: number): number =>
  Math.min(visibilityTimeoutMs, MAX_FUNCTION_TIMEOUT_SECONDS * 1000);

export const DEFAULTS = {
  /** The main queue's visibility timeout where the environment gives none (the local runtime). */
  visibilityTimeoutSeconds: 30,
  /** Completed jobs stay this long. */
  retentionDays: 7,
  /** Failed jobs stay this long (the dead-letter queue keeps its copies 14 days). */
  failedRetentionDays: 30,
  /** Past two leases (visibility timeouts), a pending job's message is presumed lost. */
  reconcileAfterLeases: 2,
  indexShards: JOB_TABLE.indexShards,
  /** The stack's stream window; the local runtime's is {@link DEFAULTS.localStreamWindowMs}. */
  streamWindowMs: JOB_CHANGES_COUNTER.maxBatchingWindowSeconds * 1000,
  /** Locally nothing bills per invocation: counts lag less. */
  localStreamWindowMs: 200,
  /** Pollers feeding the worker locally; a resume after a start with 0 starts these. */
  localWorkerConcurrency: 2,
  localPort: 3000,
  localHost: '127.0.0.1',
  localSqsPort: 9324,
  localDynamoDbPort: 8000,
  localDataDir: '.requeue',
} as const;

/** The stack's defaults, for what a deployment may tune (infra/requeue-stack.ts). */
export const STACK_DEFAULTS = {
  workerTimeoutSeconds: 5 * 60,
  workerMaxConcurrency: 10,
  workerBatchingWindowSeconds: 1,
  /** API Gateway gives up at 30 seconds. */
  routeTimeoutSeconds: 29,
} as const;

/**
 * Queue settings shared by the CDK stack and the local runtime.
 *
 * The worker moves a job's message to the dead-letter queue itself when the
 * job fails for good, because attempts are per job. The queue's own redrive
 * policy is only a safety net for a message that keeps coming back without
 * being handled (a worker crashing on it): every attempt and every early
 * wake-up of a delayed job counts as one receive, so it must sit well above
 * the largest `opts.attempts`.
 */
export const QUEUE_SETTINGS = {
  safetyNetMaxReceiveCount: LIMITS.maxAttempts * 3,
  deadLetterRetentionSeconds: 14 * 24 * 60 * 60,
  /** A job may be delayed 7 days: its message must outlive that. The most SQS allows. */
  retentionSeconds: 14 * 24 * 60 * 60,
  /** Long polling, as Lambda's event source does. */
  receiveWaitSeconds: 20,
  /** Lambda's largest standard-queue batch without a batching window tuned for it. */
  batchSize: 10,
} as const;

/** The queue that wakes the retry-task runner, on AWS as locally. */
export const TASK_QUEUE_SETTINGS = {
  visibilityTimeoutSeconds: TASK_RUNNER.timeoutSeconds * VISIBILITY_PER_FUNCTION_TIMEOUT,
  /**
   * A chunk that fails this often in a row is set aside; its task's lease
   * runs out and the reconciler resumes it with a fresh message.
   */
  maxReceiveCount: 5,
  /** One chunk per invocation: each gets the whole time budget. */
  batchSize: 1,
  maxConcurrency: 2,
} as const;
