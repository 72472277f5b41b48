/**
 * The one route table. The CDK stack builds an API Gateway route, a function
 * and its grants from each entry; the local runtime serves the same entries
 * with the same handlers. Handlers live in lambda/handlers/<handler>.ts.
 */

/**
 * What a function may do to the table's items, each level on its own:
 * - `read`: GetItem, BatchGetItem, Query
 * - `update`: UpdateItem (every transition of a job; alone, for the function
 *   that keeps the per-state counters from the table's stream)
 * - `put`: PutItem (a new job, a retry task's record)
 * - `delete`: DeleteItem (an enqueue taken back when its message cannot be sent,
 *   a job removed, with its stack item)
 */
export type TableAccess = 'read' | 'update' | 'put' | 'delete';

/**
 * What a function may do to a queue:
 * - `send`: SendMessage(Batch)
 * - `consume`: ReceiveMessage, DeleteMessage(Batch), ChangeMessageVisibility(Batch)
 * - `attributes`: GetQueueAttributes (depths for metrics)
 */
export type QueueAccess = 'send' | 'consume' | 'attributes';

/**
 * What a function may do to the worker's event source (on AWS, the worker's
 * SQS event source mapping; it is the truth of whether the worker takes jobs):
 * - `read`: GetEventSourceMapping (is it paused?)
 * - `update`: UpdateEventSourceMapping (pause or resume it)
 */
export type WorkerSwitchAccess = 'read' | 'update';

export interface Permissions {
  readonly table: readonly TableAccess[];
  readonly mainQueue?: readonly QueueAccess[];
  readonly deadLetterQueue?: readonly QueueAccess[];
  /** The queue that wakes the retry-task runner. */
  readonly taskQueue?: readonly QueueAccess[];
  /** The worker's event source mapping; the function is then told its UUID (REQUEUE_WORKER_MAPPING_UUID). */
  readonly workerSwitch?: readonly WorkerSwitchAccess[];
}

export type HttpMethod = 'GET' | 'POST' | 'DELETE';

export interface Route {
  readonly method: HttpMethod;
  /** API Gateway path syntax: `{name}` marks a path parameter. */
  readonly path: string;
  /** File name under lambda/handlers/, without extension. */
  readonly handler: string;
  readonly description: string;
  readonly permissions: Permissions;
}

export const ROUTES: readonly Route[] = [
  {
    method: 'POST',
    path: '/jobs',
    handler: 'enqueue-job',
    description: 'Enqueue a named job',
    permissions: { table: ['read', 'update', 'put', 'delete'], mainQueue: ['send'] },
  },
  {
    method: 'GET',
    path: '/jobs',
    handler: 'list-jobs',
    description: 'List the jobs in one state, most recent change first',
    permissions: { table: ['read'] },
  },
  {
    method: 'GET',
    path: '/jobs/failed',
    handler: 'list-failed-jobs',
    description: 'List failed jobs, most recently failed first',
    permissions: { table: ['read'] },
  },
  {
    method: 'GET',
    path: '/jobs/details/{jobId}',
    handler: 'get-job',
    description: 'Show one job with its history',
    permissions: { table: ['read'] },
  },
  {
    method: 'POST',
    path: '/jobs/retry/{jobId}',
    handler: 'retry-job',
    description: 'Retry one failed job',
    // consume: it clears the stale dead-letter copies it comes across
    permissions: { table: ['read', 'update'], mainQueue: ['send'], deadLetterQueue: ['consume'] },
  },
  {
    method: 'POST',
    path: '/jobs/retry-all-failed',
    handler: 'retry-all-failed',
    description: 'Retry every failed job (or those a filter takes), at once or as a background task',
    permissions: { table: ['read', 'update', 'put'], mainQueue: ['send'], deadLetterQueue: ['consume'], taskQueue: ['send'] },
  },
  {
    method: 'DELETE',
    path: '/jobs/{jobId}',
    handler: 'remove-job',
    description: 'Remove a job that is not active',
    // its dead-letter copy, if any, is stale once the job is gone: the worker and the reconciler drop it
    permissions: { table: ['read', 'delete'] },
  },
  {
    method: 'POST',
    path: '/jobs/remove-all-failed',
    handler: 'remove-all-failed',
    description: 'Remove every failed job (or those a filter takes), at once or as a background task',
    // put: the record of a background task
    permissions: { table: ['read', 'delete', 'put'], taskQueue: ['send'] },
  },
  {
    method: 'POST',
    path: '/jobs/promote/{jobId}',
    handler: 'promote-job',
    description: 'Run a delayed job now',
    permissions: { table: ['read', 'update'], mainQueue: ['send'] },
  },
  {
    method: 'GET',
    path: '/jobs/retry-tasks',
    handler: 'list-retry-tasks',
    description: 'Retry and remove tasks, the most recently started first',
    permissions: { table: ['read'] },
  },
  {
    method: 'GET',
    path: '/jobs/retry-tasks/{taskId}',
    handler: 'get-retry-task',
    description: "A retry task's progress",
    permissions: { table: ['read'] },
  },
  {
    method: 'POST',
    path: '/jobs/retry-tasks/{taskId}/cancel',
    handler: 'cancel-retry-task',
    description: 'Stop a retry task; jobs already retried stay retried',
    permissions: { table: ['read', 'put'] },
  },
  {
    method: 'POST',
    path: '/jobs/recount',
    handler: 'start-recount',
    description: 'Count every job afresh and set the counters right, as a background task',
    permissions: { table: ['read', 'put'], taskQueue: ['send'] },
  },
  {
    method: 'GET',
    path: '/jobs/recount/{taskId}',
    handler: 'get-recount',
    description: "A recount's progress",
    permissions: { table: ['read'] },
  },
  {
    method: 'POST',
    path: '/jobs/pause',
    handler: 'pause-worker',
    description: 'Pause the worker: jobs wait in the queue until it is resumed',
    // update: the record of who paused it and when
    permissions: { table: ['read', 'update'], workerSwitch: ['read', 'update'] },
  },
  {
    method: 'POST',
    path: '/jobs/resume',
    handler: 'resume-worker',
    description: 'Resume the worker: the jobs waiting in the queue run',
    permissions: { table: ['read', 'update'], workerSwitch: ['read', 'update'] },
  },
  {
    method: 'GET',
    path: '/jobs/metrics',
    handler: 'get-metrics',
    description: 'Counts per state, queue depths and whether the worker is paused',
    permissions: { table: ['read'], mainQueue: ['attributes'], deadLetterQueue: ['attributes'], workerSwitch: ['read'] },
  },
  {
    method: 'GET',
    path: '/openapi.json',
    handler: 'get-openapi',
    description: 'The OpenAPI 3.1 description of every route',
    // Behind the same authorizer as every other route, not public: the local API key guards every path
    // (local/api-gateway.ts checks it before routing), and on AWS the API's default authorizer covers every
    // route. A reader who may call the API may read its description; one who may not learns nothing of it.
    permissions: { table: [] },
  },
];

/** The SQS-triggered worker: runs jobs, moves failures to the dead-letter queue. */
export const WORKER = {
  handler: 'worker',
  description: 'Run jobs from the main queue',
  permissions: {
    table: ['read', 'update'],
    mainQueue: ['consume', 'send'],
    deadLetterQueue: ['send'],
  },
} as const satisfies Omit<Route, 'method' | 'path'>;

/** Runs retry tasks and recounts chunk by chunk, woken by the tasks queue; each chunk wakes the next. */
export const TASK_RUNNER = {
  handler: 'retry-task-runner',
  description: 'Run background retry tasks and recounts',
  /** A chunk runs at most 60 s and stops starting pages 15 s before this (retry-task-runner.ts). */
  timeoutSeconds: 90,
  permissions: {
    // delete: a remove task's jobs
    table: ['read', 'update', 'put', 'delete'],
    mainQueue: ['send'],
    deadLetterQueue: ['consume'],
    taskQueue: ['consume', 'send'],
  },
} as const satisfies Omit<Route, 'method' | 'path'> & { timeoutSeconds: number };

/**
 * The reconciler, on a schedule: re-sends jobs that should run but may have
 * no message (see lambda/core/resend-pending-jobs.ts), resumes retry tasks
 * whose runner stopped, and clears stale dead-letter copies.
 */
export const RECONCILER = {
  handler: 'reconcile',
  description: 'Re-send jobs left without a message',
  /** EventBridge schedule expression. */
  schedule: 'rate(1 minute)',
  /** One run ends before the next is due. */
  timeoutSeconds: 50,
  // consume: it clears dead-letter copies of jobs retried since
  permissions: { table: ['read', 'update', 'put'], mainQueue: ['send'], deadLetterQueue: ['consume'], taskQueue: ['send'] },
} as const satisfies Omit<Route, 'method' | 'path'> & { schedule: string; timeoutSeconds: number };

/**
 * A Lambda event filter pattern, as DynamoDB stream records are matched:
 * each leaf lists the values (or `{prefix}`) a field may have.
 */
export type EventPattern = { readonly [field: string]: EventPattern | readonly (string | { readonly prefix: string })[] };

/**
 * Keeps the per-state counts (and the outcomes per minute, and the jobs
 * that left `failed`) from the table's stream: every change of a job's item
 * (a new job, each transition, a removal by the API or by TTL) comes to it
 * in batches, and a batch costs a counter write or two, however many jobs it
 * moved. No request path writes a counter. Locally the stream dynalite
 * keeps (local/dynalite-streams.ts) feeds it through the same filter.
 */
export const JOB_CHANGES_COUNTER = {
  handler: 'count-job-changes',
  description: 'Count the changes of job states from the table stream',
  /** Stream records per invocation; one counter write for all of them, and one per minute of outcomes. */
  batchSize: 1000,
  /**
   * How long the mapping gathers records before it invokes with fewer than
   * `batchSize`: counts in metrics lag the jobs by about this much.
   */
  maxBatchingWindowSeconds: 5,
  timeoutSeconds: 60,
  /**
   * Only job items reach the function: the stream carries every write of the
   * table (its own counter writes too), and Lambda drops the rest before
   * invoking it. `JOB#` begins every job's partition key (jobKey,
   * lambda/adapters/dynamodb-job-item.ts); sk `JOB` is the job's own item,
   * not its stack trace's (sk `STACK`).
   */
  filter: {
    dynamodb: { Keys: { pk: { S: [{ prefix: 'JOB#' }] }, sk: { S: ['JOB'] } } },
  },
  permissions: { table: ['update'] },
} as const satisfies Omit<Route, 'method' | 'path'> & {
  batchSize: number;
  maxBatchingWindowSeconds: number;
  timeoutSeconds: number;
  filter: EventPattern;
};

/** API Gateway's route key, e.g. `GET /jobs/details/{jobId}`. */
export const routeKey = (route: Pick<Route, 'method' | 'path'>): string => `${route.method} ${route.path}`;
