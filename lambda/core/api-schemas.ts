import * as z from 'zod';
import { JOB_STATES } from './job';
import { RECOUNT_STATUSES } from './recount-jobs';
import { TASK_STATUSES } from './retry-task';

/**
 * The bodies the HTTP API answers with, as zod schemas: the OpenAPI
 * description (lambda/openapi-document.ts) is generated from them, and the
 * functions that shape each body are typed by them, so a field added to a
 * body but not here, or here but not to the body, fails the type check.
 * Objects are strict: a response holding a field these do not name fails the
 * response checks of the end-to-end tests (test/support/response-checker.ts).
 */

/**
 * The type a function shaping a body returns: any readonly or mutable value
 * of the schema's shape is one, and an object literal with a field the schema
 * lacks is refused.
 */
export type ResponseBody<S extends z.ZodType> = DeepReadonly<z.output<S>>;
type DeepReadonly<T> = T extends (infer E)[]
  ? readonly DeepReadonly<E>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

const epochMs = z.int().min(0).meta({ description: 'Epoch milliseconds' });
const count = z.int().min(0);
const jobState = z.enum(JOB_STATES);

/** Every error: a sentence a person can act on, and a machine code. */
export const errorBodySchema = z.strictObject({
  error: z.string().meta({ description: 'What went wrong and what to do about it' }),
  code: z.string().meta({ description: 'A machine code, such as VALIDATION_ERROR or JOB_NOT_FOUND' }),
}).meta({ id: 'Error' });

/** What API Gateway answers itself, before any function runs: a refused signature or token, throttling. */
export const gatewayMessageSchema = z.strictObject({ message: z.string() }).meta({ id: 'GatewayMessage' });

export const jobAcceptedSchema = z.strictObject({ id: z.string(), name: z.string(), state: jobState }).meta({ id: 'JobAccepted' });

/** The answer of an operation on one job: retry, remove, promote. */
export const jobMessageSchema = z.strictObject({ message: z.string(), jobId: z.string() }).meta({ id: 'JobMessage' });

export const failedJobSummarySchema = z.strictObject({
  id: z.string(),
  name: z.string(),
  data: z.unknown(),
  error: z.string().nullable(),
  failedAt: epochMs.nullable(),
  attempts: count,
  maxAttempts: count,
}).meta({ id: 'FailedJobSummary' });

export const jobSummarySchema = z.strictObject({
  id: z.string(),
  name: z.string(),
  state: jobState,
  attempts: count,
  maxAttempts: count,
  createdAt: epochMs,
  updatedAt: epochMs.meta({
    description:
      'When the job entered its state: failed and completed jobs when they ended; waiting, delayed and active jobs when they were enqueued, retried or re-sent',
  }),
  runAt: epochMs.optional(),
  failedAt: epochMs.optional(),
  error: z.string().optional(),
}).meta({ id: 'JobSummary' });

const jobOptions = z.strictObject({
  attempts: count,
  backoff: z.strictObject({ type: z.enum(['fixed', 'exponential']), delay: count }),
  delay: count,
  timeout: count.optional(),
});

const historyEntry = z.strictObject({
  generation: count,
  attempt: count,
  start: epochMs,
  end: epochMs,
  outcome: z.enum(['completed', 'failed', 'timed-out']),
  error: z.string().optional(),
});

const retryRecord = z.strictObject({
  at: epochMs,
  source: z.enum(['api', 'redrive']),
  generation: count,
  taskId: z.string().optional(),
  by: z.string().optional().meta({ description: "Who asked: the IAM principal's ARN, the JWT's subject, or local" }),
  dataChanged: z.literal(true).optional(),
});

/** A job as `GET /jobs/details/{jobId}` shows it: every field present, null when unset. */
export const jobDetailsSchema = z.strictObject({
  id: z.string(),
  name: z.string(),
  data: z.unknown(),
  opts: jobOptions,
  state: jobState,
  attempts: count,
  maxAttempts: count,
  generation: count,
  error: z.string().nullable(),
  stacktrace: z.string().nullable(),
  returnValue: z.unknown(),
  createdAt: epochMs,
  processedAt: epochMs.nullable(),
  finishedAt: epochMs.nullable(),
  failedAt: epochMs.nullable(),
  runAt: epochMs.nullable(),
  history: z.array(historyEntry),
  historyDropped: count,
  retries: z.array(retryRecord),
}).meta({ id: 'Job' });

const taskFilter = z.strictObject({
  name: z.string().optional(),
  since: epochMs.optional(),
  until: epochMs.optional(),
  error: z.string().optional(),
});

const taskViewFields = {
  taskId: z.string(),
  status: z.enum(TASK_STATUSES),
  failed: count,
  total: count,
  startedAt: epochMs,
  updatedAt: epochMs,
  finishedAt: epochMs.nullable(),
  filter: taskFilter,
  limit: count.nullable(),
  maxPerSecond: count.nullable(),
  error: z.string().nullable(),
  by: z.string().nullable(),
};

/** A background retry or remove task: a remove task says `removed` where a retry task says `retried`. */
export const retryTaskViewSchema = z.strictObject({ ...taskViewFields, kind: z.literal('retry'), retried: count });
export const removeTaskViewSchema = z.strictObject({ ...taskViewFields, kind: z.literal('remove'), removed: count });
export const taskViewSchema = z.discriminatedUnion('kind', [retryTaskViewSchema, removeTaskViewSchema]).meta({ id: 'Task' });

export const taskStartedSchema = z.strictObject({ message: z.string(), taskId: z.string(), total: count }).meta({ id: 'TaskStarted' });

export const retryAllResultSchema = z.union([
  z.strictObject({ message: z.string(), retriedCount: count, failedCount: count, total: count }),
  z.strictObject({ message: z.string(), dryRun: z.literal(true), retriedCount: z.literal(0), failedCount: z.literal(0), total: count }),
]).meta({ id: 'RetryAllResult' });

export const removeAllResultSchema = z.union([
  z.strictObject({ message: z.string(), removedCount: count, total: count }),
  z.strictObject({ message: z.string(), dryRun: z.literal(true), removedCount: z.literal(0), total: count }),
]).meta({ id: 'RemoveAllResult' });

export const recountViewSchema = z.strictObject({
  taskId: z.string(),
  status: z.enum(RECOUNT_STATUSES),
  counting: jobState.nullable().meta({ description: 'The state being counted; null once finished' }),
  corrections: z.partialRecord(jobState, z.int()).meta({ description: "What each recounted state's counter was off by" }),
  skipped: z.array(jobState).meta({ description: 'States whose jobs kept moving while counted, left as they were' }),
  startedAt: epochMs,
  updatedAt: epochMs,
  finishedAt: epochMs.nullable(),
  error: z.string().nullable(),
}).meta({ id: 'Recount' });

const queueDepth = z.strictObject({ visible: count, inFlight: count, delayed: count });

const workerPauseFields = {
  paused: z.boolean(),
  pausedBy: z.string().optional().meta({ description: 'Who paused it through the API; absent when it was paused otherwise' }),
  pausedAt: epochMs.optional(),
};

/** The answer of a pause or a resume. */
export const workerPauseSchema = z.strictObject({ message: z.string(), ...workerPauseFields }).meta({ id: 'WorkerPause' });

export const metricsSchema = z.strictObject({
  ...Object.fromEntries(JOB_STATES.map((state) => [state, count])) as Record<(typeof JOB_STATES)[number], typeof count>,
  total: count,
  queues: z.strictObject({ main: queueDepth, deadLetter: queueDepth }),
  ...workerPauseFields,
  throughput: z
    .array(z.strictObject({ minute: epochMs, completed: count, failed: count }))
    .meta({ description: 'Completed and failed per minute, oldest first, the current minute last' }),
}).meta({ id: 'Metrics' });

/** The description itself: only what a reader of it relies on is checked here. */
export const openApiDocumentSchema = z.looseObject({
  openapi: z.string(),
  info: z.looseObject({ title: z.string(), version: z.string() }),
  paths: z.record(z.string(), z.unknown()),
});
