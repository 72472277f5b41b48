/**
 * The API as the dashboard calls it: relative URLs only, so the same page
 * works on the local runtime and behind `requeue dashboard`, which forwards
 * them to a deployed API. Only routes the README documents are called.
 */

export type JobState = 'waiting' | 'active' | 'delayed' | 'completed' | 'failed';
export const JOB_STATES: readonly JobState[] = ['waiting', 'active', 'delayed', 'completed', 'failed'];

export interface QueueDepth {
  readonly visible: number;
  readonly inFlight: number;
  readonly delayed: number;
}

export interface Metrics extends Record<JobState, number> {
  readonly total: number;
  readonly queues: { readonly main: QueueDepth; readonly deadLetter: QueueDepth };
  readonly throughput: readonly { readonly minute: number; readonly completed: number; readonly failed: number }[];
  readonly paused?: boolean;
  /** Who paused the worker through the API, and when (epoch ms). */
  readonly pausedBy?: string;
  readonly pausedAt?: number;
}

export interface WorkerAnswer {
  readonly message: string;
  readonly paused: boolean;
  readonly pausedBy?: string;
  readonly pausedAt?: number;
}

export interface FailedJob {
  readonly id: string;
  readonly name: string;
  readonly data: unknown;
  readonly error: string;
  readonly failedAt: number;
  readonly attempts: number;
  readonly maxAttempts: number;
}

export interface JobSummary {
  readonly id: string;
  readonly name: string;
  readonly state: JobState;
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly runAt?: number;
  readonly failedAt?: number;
  readonly error?: string;
}

export interface Execution {
  readonly generation: number;
  readonly attempt: number;
  readonly start: number;
  readonly end?: number;
  readonly outcome: string;
  readonly error?: string;
}

export interface RetryRecord {
  readonly at: number;
  readonly source: string;
  readonly generation: number;
  readonly by?: string;
  readonly taskId?: string;
  readonly dataChanged?: boolean;
}

export interface Job {
  readonly id: string;
  readonly name: string;
  readonly data: unknown;
  readonly opts: unknown;
  readonly state: JobState;
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly generation: number;
  readonly error?: string | null;
  readonly stacktrace?: string | null;
  readonly returnValue?: unknown;
  readonly createdAt: number;
  readonly processedAt?: number | null;
  readonly finishedAt?: number | null;
  readonly failedAt?: number | null;
  readonly runAt?: number | null;
  readonly history: readonly Execution[];
  readonly historyDropped?: number;
  readonly retries: readonly RetryRecord[];
}

export type TaskStatus = 'RUNNING' | 'COMPLETED' | 'CANCELLING' | 'CANCELLED' | 'FAILED';

export interface Task {
  readonly taskId: string;
  readonly kind: 'retry' | 'remove';
  readonly status: TaskStatus;
  readonly retried?: number;
  readonly removed?: number;
  readonly failed: number;
  readonly total: number;
  readonly startedAt: number;
  readonly updatedAt: number;
  readonly finishedAt: number | null;
  readonly filter: FailedFilter;
  readonly limit: number | null;
  readonly maxPerSecond: number | null;
  readonly error: string | null;
  readonly by: string | null;
}

export interface FailedFilter {
  readonly name?: string;
  readonly since?: number;
  readonly until?: number;
  readonly error?: string;
}

export interface BulkOptions {
  readonly dryRun?: boolean;
  readonly async?: boolean;
  readonly maxPerSecond?: number;
}

/** What a bulk route answers: at once (200) or as a background task (202). */
export interface BulkAnswer {
  readonly message: string;
  readonly total: number;
  readonly taskId?: string;
  readonly retriedCount?: number;
  readonly removedCount?: number;
  readonly failedCount?: number;
}

/** An answer other than 2xx, with the API's own sentence. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
  }
}

const KEY_ITEM = 'requeue.apiKey';

export const apiKey = (): string | null => sessionStorage.getItem(KEY_ITEM);
export const setApiKey = (key: string | null): void => {
  if (key) sessionStorage.setItem(KEY_ITEM, key);
  else sessionStorage.removeItem(KEY_ITEM);
};

/** Told of every 401, so the page can ask for the key. */
let onUnauthorized: (error: ApiError) => void = () => undefined;
export const whenUnauthorized = (listener: (error: ApiError) => void): void => {
  onUnauthorized = listener;
};

interface Answer<T> {
  readonly body: T;
  readonly headers: Headers;
  readonly status: number;
}

const request = async <T>(method: string, path: string, body?: unknown): Promise<Answer<T>> => {
  const headers: Record<string, string> = { accept: 'application/json' };
  const key = apiKey();
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    throw new ApiError(`Could not reach the API (${(error as Error).message}). Is requeue running?`, 0, 'NETWORK_ERROR');
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const answer = parsed as { error?: unknown; code?: unknown } | undefined;
    const error = new ApiError(
      typeof answer?.error === 'string' ? answer.error : `The API answered ${response.status} ${response.statusText}.`,
      response.status,
      typeof answer?.code === 'string' ? answer.code : 'HTTP_ERROR',
    );
    if (response.status === 401) onUnauthorized(error);
    throw error;
  }
  return { body: parsed as T, headers: response.headers, status: response.status };
};

const query = (params: Record<string, string | number | undefined>): string => {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
};

const id = (jobId: string) => encodeURIComponent(jobId);

export interface Page<T> {
  readonly items: T[];
  readonly cursor?: string;
}

const page = async <T>(path: string): Promise<Page<T>> => {
  const answer = await request<T[]>('GET', path);
  return { items: answer.body, cursor: answer.headers.get('x-next-cursor') ?? undefined };
};

export const api = {
  metrics: async () => (await request<Metrics>('GET', '/jobs/metrics')).body,
  failed: (filter: FailedFilter, limit: number, cursor?: string) =>
    page<FailedJob>(`/jobs/failed${query({ ...filter, limit, cursor })}`),
  jobs: (state: JobState, name: string | undefined, limit: number, cursor?: string) =>
    page<JobSummary>(`/jobs${query({ state, name, limit, cursor })}`),
  job: async (jobId: string) => (await request<Job>('GET', `/jobs/details/${id(jobId)}`)).body,
  retry: async (jobId: string, data?: { data: unknown }) =>
    (await request<{ message: string }>('POST', `/jobs/retry/${id(jobId)}`, data)).body,
  remove: async (jobId: string) => (await request<{ message: string }>('DELETE', `/jobs/${id(jobId)}`)).body,
  promote: async (jobId: string) => (await request<{ message: string }>('POST', `/jobs/promote/${id(jobId)}`)).body,
  retryAll: async (filter: FailedFilter, options: BulkOptions) =>
    (await request<BulkAnswer>('POST', '/jobs/retry-all-failed', { ...filter, ...options })).body,
  removeAll: async (filter: FailedFilter, options: BulkOptions) =>
    (await request<BulkAnswer>('POST', '/jobs/remove-all-failed', { ...filter, ...options })).body,
  tasks: (limit: number) => page<Task>(`/jobs/retry-tasks${query({ limit })}`),
  cancelTask: async (taskId: string) => (await request<Task>('POST', `/jobs/retry-tasks/${id(taskId)}/cancel`)).body,
  pause: async () => (await request<WorkerAnswer>('POST', '/jobs/pause')).body,
  resume: async () => (await request<WorkerAnswer>('POST', '/jobs/resume')).body,
};
