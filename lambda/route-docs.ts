import * as z from 'zod';
import {
  errorBodySchema,
  failedJobSummarySchema,
  jobAcceptedSchema,
  jobDetailsSchema,
  jobMessageSchema,
  jobSummarySchema,
  metricsSchema,
  workerPauseSchema,
  openApiDocumentSchema,
  recountViewSchema,
  removeAllResultSchema,
  retryAllResultSchema,
  taskStartedSchema,
  taskViewSchema,
} from './core/api-schemas';
import { enqueueBodySchema } from './core/enqueue-request';
import { failedJobFilterQueryShape } from './core/failed-job-filter';
import { LIMITS } from './core/limits';
import { listJobsQuerySchema } from './core/list-jobs-request';
import { noOptionsBodySchema, pageQueryShape } from './core/request-parameters';
import { retryAllBodySchema, retryAllQuerySchema } from './core/retry-all-request';
import { retryJobBodySchema } from './core/retry-job-request';

/**
 * What each route of lambda/routes.ts takes and answers, for its OpenAPI
 * description (lambda/openapi-document.ts), by route key: the schemas are
 * those the handlers validate with and whose types shape their bodies. A
 * route added to the table needs its entry here; its path parameters come
 * from request-parameters.ts by name, and the answers every route shares
 * (401, 403, 429, 500, and 503 for a route that reaches the table or a queue)
 * are added to each.
 */
export interface RouteDoc {
  /** More than the route table's one-line description, when a reader needs it. */
  readonly details?: string;
  /** Its fields are the query parameters. */
  readonly query?: z.ZodObject;
  readonly body?: { readonly schema: z.ZodType; readonly required: boolean; readonly description: string };
  /** By status: the route's own answers and errors. */
  readonly responses: Readonly<Record<number, ResponseDoc>>;
}

export interface ResponseDoc {
  readonly description: string;
  readonly schema: z.ZodType;
  /** The answer is a page of a listing: `X-Next-Cursor` names the next one. */
  readonly paged?: true;
}

const error = (description: string): ResponseDoc => ({ description, schema: errorBodySchema });

const BAD_ID = 'VALIDATION_ERROR: the id in the path is not one requeue gives';
const BAD_BODY = 'VALIDATION_ERROR (a field is wrong), INVALID_JSON (the body is not JSON, or not UTF-8)';
const BULK = {
  query: retryAllQuerySchema,
  body: {
    schema: retryAllBodySchema,
    required: false,
    description: 'The same options as the query string, numbers as JSON numbers and flags as JSON booleans; the body wins where both say something',
  },
} as const;

export const ROUTE_DOCS: Readonly<Record<string, RouteDoc>> = {
  'POST /jobs': {
    body: { schema: enqueueBodySchema, required: true, description: 'The job: its name picks the processor' },
    responses: {
      201: { description: 'The job is accepted', schema: jobAcceptedSchema },
      400: error(BAD_BODY),
      409: error('DUPLICATE_JOB_ID: a job with this opts.jobId exists'),
      413: error(`PAYLOAD_TOO_LARGE: data is over ${LIMITS.maxDataBytes / 1024} KiB as JSON, or the body over 10 MB`),
    },
  },
  'GET /jobs': {
    details: 'Newest change first: failed and completed jobs by when they ended, the others by when they were enqueued, retried or re-sent.',
    query: listJobsQuerySchema.extend(pageQueryShape),
    responses: {
      200: { description: 'A page of job summaries', schema: z.array(jobSummarySchema), paged: true },
      400: error('VALIDATION_ERROR: a missing or unknown state, a bad limit or cursor, an unknown parameter'),
    },
  },
  'GET /jobs/failed': {
    details: 'A page also stops before 5 MB, however large the jobs\' data.',
    query: z.strictObject({ ...failedJobFilterQueryShape, ...pageQueryShape }),
    responses: {
      200: { description: 'A page of failed jobs, the most recently failed first', schema: z.array(failedJobSummarySchema), paged: true },
      400: error('VALIDATION_ERROR: a bad filter, limit or cursor, or an unknown parameter'),
    },
  },
  'GET /jobs/details/{jobId}': {
    responses: {
      200: { description: 'The job, every execution across retries, and the retries made on it', schema: jobDetailsSchema },
      400: error(BAD_ID),
      404: error('JOB_NOT_FOUND'),
    },
  },
  'POST /jobs/retry/{jobId}': {
    body: {
      schema: retryJobBodySchema,
      required: false,
      description: 'Retry with this data instead (checked as at enqueue); no body keeps the data',
    },
    responses: {
      200: { description: 'The job is waiting again, attempts reset', schema: jobMessageSchema },
      400: error(`${BAD_ID}, or the body is wrong; JOB_NOT_FAILED: the job is in another state; ${BAD_BODY}`),
      404: error('JOB_NOT_FOUND'),
      413: error(`PAYLOAD_TOO_LARGE: data is over ${LIMITS.maxDataBytes / 1024} KiB as JSON`),
    },
  },
  'POST /jobs/retry-all-failed': {
    details: 'More than 1,000 matching jobs always run as a background task.',
    ...BULK,
    responses: {
      200: { description: 'Done at once, or the count a dry run found', schema: retryAllResultSchema },
      202: { description: 'Started as a background task: follow GET /jobs/retry-tasks/{taskId}', schema: taskStartedSchema },
      400: error(`VALIDATION_ERROR: a bad filter or option; ${BAD_BODY}`),
      413: error('PAYLOAD_TOO_LARGE: the body is over 10 MB'),
    },
  },
  'DELETE /jobs/{jobId}': {
    details: "Its counts, index entries and messages go with it: a dead-letter copy, even redriven, is dropped.",
    responses: {
      200: { description: 'The job is gone', schema: jobMessageSchema },
      400: error(`${BAD_ID}; JOB_ACTIVE: the job is running`),
      404: error('JOB_NOT_FOUND'),
      409: error('JOB_CHANGED: the job changed meanwhile (retried, claimed); look at it again'),
    },
  },
  'POST /jobs/remove-all-failed': {
    details: 'More than 1,000 matching jobs always run as a background task.',
    ...BULK,
    responses: {
      200: { description: 'Done at once, or the count a dry run found', schema: removeAllResultSchema },
      202: { description: 'Started as a background task: follow GET /jobs/retry-tasks/{taskId}', schema: taskStartedSchema },
      400: error(`VALIDATION_ERROR: a bad filter or option; ${BAD_BODY}`),
      413: error('PAYLOAD_TOO_LARGE: the body is over 10 MB'),
    },
  },
  'POST /jobs/promote/{jobId}': {
    responses: {
      200: { description: 'The delayed job runs at once', schema: jobMessageSchema },
      400: error(`${BAD_ID}; JOB_NOT_DELAYED: the job is in another state`),
      404: error('JOB_NOT_FOUND'),
    },
  },
  'GET /jobs/retry-tasks': {
    query: z.strictObject(pageQueryShape),
    responses: {
      200: { description: 'A page of tasks', schema: z.array(taskViewSchema), paged: true },
      400: error('VALIDATION_ERROR: a bad limit or cursor, or an unknown parameter'),
    },
  },
  'GET /jobs/retry-tasks/{taskId}': {
    responses: {
      200: { description: "The task's progress", schema: taskViewSchema },
      400: error(BAD_ID),
      404: error('TASK_NOT_FOUND'),
    },
  },
  'POST /jobs/retry-tasks/{taskId}/cancel': {
    responses: {
      200: { description: 'The task is CANCELLING; jobs already retried stay retried, the rest stay failed', schema: taskViewSchema },
      400: error(`${BAD_ID}; TASK_NOT_RUNNING: the task has finished or is cancelling`),
      404: error('TASK_NOT_FOUND'),
    },
  },
  'POST /jobs/recount': {
    details: 'The counters stay right by themselves; a process killed before writing its counter changes is the reason to run it.',
    responses: {
      202: { description: 'The recount started: follow GET /jobs/recount/{taskId}', schema: recountViewSchema },
    },
  },
  'GET /jobs/recount/{taskId}': {
    responses: {
      200: { description: "The recount's progress, and what each state's count was off by", schema: recountViewSchema },
      400: error(BAD_ID),
      404: error('RECOUNT_NOT_FOUND'),
    },
  },
  'POST /jobs/pause': {
    details: 'Jobs already running finish; asking again changes nothing.',
    body: { schema: noOptionsBodySchema, required: false, description: 'No options: send no body, or {}' },
    responses: {
      200: { description: 'The worker is paused (or already was)', schema: workerPauseSchema },
      400: error(`VALIDATION_ERROR: a body with options; ${BAD_BODY}`),
      409: error('WORKER_SWITCH_BUSY: the worker is starting or stopping; try again shortly'),
    },
  },
  'POST /jobs/resume': {
    body: { schema: noOptionsBodySchema, required: false, description: 'No options: send no body, or {}' },
    responses: {
      200: { description: 'The worker runs (or already did)', schema: workerPauseSchema },
      400: error(`VALIDATION_ERROR: a body with options; ${BAD_BODY}`),
      409: error('WORKER_SWITCH_BUSY: the worker is starting or stopping; try again shortly'),
    },
  },
  'GET /jobs/metrics': {
    responses: {
      200: { description: 'Counts per state, queue depths, completed and failed per minute, whether the worker is paused', schema: metricsSchema },
    },
  },
  'GET /openapi.json': {
    responses: {
      200: { description: 'This description', schema: openApiDocumentSchema },
    },
  },
};
