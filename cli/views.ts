import { doneOf } from '../dashboard/app/task-progress';
import {
  compactJson,
  fields,
  formatOffset,
  formatTime,
  formatTimeAgo,
  oneLine,
  plural,
  sparkline,
  table,
} from './format';
import { progressLine, type TaskView } from './watch-task';

/** The API's answers as people read them; the shapes are the API's (README, "The API"). */

export interface FailedJobRow {
  id: string;
  name: string;
  data: unknown;
  error: string | null;
  failedAt: number | null;
  attempts: number;
  maxAttempts: number;
}

export interface JobSummaryRow {
  id: string;
  name: string;
  state: string;
  attempts: number;
  maxAttempts: number;
  createdAt: number;
  updatedAt: number;
  runAt?: number;
  failedAt?: number;
  error?: string;
}

const ERROR_WIDTH = 60;

export const failedJobsView = (jobs: readonly FailedJobRow[]): string =>
  jobs.length === 0
    ? 'No failed jobs.'
    : table(jobs, [
        { header: 'ID', value: (j) => j.id },
        { header: 'NAME', value: (j) => j.name },
        { header: 'FAILED AT', value: (j) => formatTime(j.failedAt) },
        { header: 'ATTEMPTS', value: (j) => `${j.attempts}/${j.maxAttempts}`, right: true },
        { header: 'ERROR', value: (j) => oneLine(j.error, ERROR_WIDTH) },
      ]);

export const jobsView = (state: string, jobs: readonly JobSummaryRow[]): string =>
  jobs.length === 0
    ? `No ${state} jobs.`
    : table(jobs, [
        { header: 'ID', value: (j) => j.id },
        { header: 'NAME', value: (j) => j.name },
        { header: 'STATE', value: (j) => j.state },
        { header: 'ATTEMPTS', value: (j) => `${j.attempts}/${j.maxAttempts}`, right: true },
        { header: 'CREATED', value: (j) => formatTime(j.createdAt) },
        { header: 'UPDATED', value: (j) => formatTime(j.updatedAt) },
        ...(jobs.some((j) => j.runAt !== undefined) ? [{ header: 'RUNS AT', value: (j: JobSummaryRow) => formatTime(j.runAt) }] : []),
        ...(jobs.some((j) => j.error !== undefined) ? [{ header: 'ERROR', value: (j: JobSummaryRow) => oneLine(j.error, ERROR_WIDTH) }] : []),
      ]);

interface HistoryRow {
  generation: number;
  attempt: number;
  start: number;
  end: number;
  outcome: string;
  error?: string;
}

interface RetryRow {
  at: number;
  source: string;
  generation: number;
  taskId?: string;
  by?: string;
  dataChanged?: true;
}

export interface JobDetails {
  id: string;
  name: string;
  data: unknown;
  opts: unknown;
  state: string;
  attempts: number;
  maxAttempts: number;
  generation: number;
  error?: string | null;
  stacktrace?: string | null;
  returnValue?: unknown;
  createdAt: number;
  processedAt?: number | null;
  finishedAt?: number | null;
  failedAt?: number | null;
  runAt?: number | null;
  history: HistoryRow[];
  historyDropped?: number;
  retries: RetryRow[];
}

const indent = (text: string, by = '  '): string => text.split('\n').map((line) => `${by}${line}`).join('\n');

const pretty = (value: unknown): string => JSON.stringify(value, null, 2) ?? 'undefined';

export const jobView = (job: JobDetails, now = Date.now()): string => {
  const times: [string, number | null | undefined][] = [
    ['created', job.createdAt],
    ['processed', job.processedAt],
    ['finished', job.finishedAt],
    ['failed', job.failedAt],
    ['runs at', job.state === 'delayed' ? job.runAt : undefined],
  ];
  const head = fields([
    ['state', job.state],
    ['attempts', `${job.attempts} of ${job.maxAttempts} (generation ${job.generation})`],
    ...times.filter(([, at]) => at !== null && at !== undefined).map(([label, at]) => [label, formatTimeAgo(at, now)] as [string, string]),
    ['options', compactJson(job.opts, 200)],
    ...(job.error ? [['error', oneLine(job.error, 200)] as [string, string]] : []),
  ]);
  const sections = [`Job ${job.id} (${job.name}), times in local time (UTC${formatOffset(job.createdAt)})`, indent(head)];
  sections.push('Data', indent(pretty(job.data)));
  if (job.returnValue !== undefined && job.returnValue !== null) sections.push('Returned', indent(pretty(job.returnValue)));
  if (job.stacktrace) sections.push('Stack trace', indent(job.stacktrace));
  const dropped = job.historyDropped ? `, ${job.historyDropped} older dropped` : '';
  sections.push(`Executions (${job.history.length}${dropped})`);
  sections.push(
    job.history.length === 0
      ? '  none yet'
      : indent(
          table(job.history, [
            { header: 'GEN', value: (h) => String(h.generation), right: true },
            { header: 'ATTEMPT', value: (h) => String(h.attempt), right: true },
            { header: 'START', value: (h) => formatTime(h.start) },
            { header: 'TOOK', value: (h) => `${h.end - h.start} ms`, right: true },
            { header: 'OUTCOME', value: (h) => h.outcome },
            { header: 'ERROR', value: (h) => oneLine(h.error, ERROR_WIDTH) },
          ]),
        ),
  );
  if (job.retries.length > 0) {
    sections.push(`Retries (${job.retries.length})`);
    sections.push(
      indent(
        table(job.retries, [
          { header: 'AT', value: (r) => formatTime(r.at) },
          { header: 'FROM', value: (r) => r.source },
          { header: 'GEN', value: (r) => String(r.generation), right: true },
          { header: 'BY', value: (r) => r.by ?? '-' },
          { header: 'TASK', value: (r) => r.taskId ?? '-' },
          { header: 'DATA', value: (r) => (r.dataChanged ? 'changed' : '-') },
        ]),
      ),
    );
  }
  return sections.join('\n');
};

interface QueueDepth {
  visible: number;
  inFlight: number;
  delayed: number;
}

export interface MetricsBody {
  waiting: number;
  active: number;
  completed: number;
  failed: number;
  delayed: number;
  total: number;
  paused?: boolean;
  queues: { main: QueueDepth; deadLetter: QueueDepth };
  throughput: { minute: number; completed: number; failed: number }[];
}

const depth = (q: QueueDepth): string => `${q.visible} visible, ${q.inFlight} in flight, ${q.delayed} delayed`;

export const metricsView = (m: MetricsBody): string => {
  const completed = m.throughput.map((t) => t.completed);
  const failed = m.throughput.map((t) => t.failed);
  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  const minutes = m.throughput.length;
  const counts = fields([
    ['waiting', String(m.waiting)],
    ['active', String(m.active)],
    ['delayed', String(m.delayed)],
    ['completed', String(m.completed)],
    ['failed', String(m.failed)],
    ['total', String(m.total)],
  ]);
  const rest = fields([
    ...(m.paused === undefined ? [] : [['worker', m.paused ? 'paused (jobs wait; `requeue resume` starts it)' : 'running'] as [string, string]]),
    ['main queue', depth(m.queues.main)],
    ['dead-letter queue', depth(m.queues.deadLetter)],
    [`completed, last ${minutes} min`, `${sparkline(completed)} ${sum(completed)}`],
    [`failed, last ${minutes} min`, `${sparkline(failed)} ${sum(failed)}`],
  ]);
  return `${counts}\n\n${rest}`;
};

export const tasksView = (tasks: readonly TaskView[]): string =>
  tasks.length === 0
    ? 'No retry or remove tasks.'
    : table(tasks, [
        { header: 'TASK', value: (t) => t.taskId },
        { header: 'KIND', value: (t) => t.kind },
        { header: 'STATUS', value: (t) => t.status },
        { header: 'DONE', value: (t) => String(doneOf(t)), right: true },
        { header: 'FAILED', value: (t) => String(t.failed), right: true },
        { header: 'TOTAL', value: (t) => String(t.total), right: true },
        { header: 'STARTED', value: (t) => formatTime(t.startedAt) },
        { header: 'BY', value: (t) => t.by ?? '-' },
      ]);

export const taskView = (task: TaskView & { filter?: unknown }, now = Date.now()): string =>
  [
    `Task ${task.taskId} (${task.kind}), ${task.status}`,
    indent(
      fields([
        ['progress', progressLine(task)],
        ['matching', plural(task.total, 'job')],
        ['limit', task.limit === null ? '-' : String(task.limit)],
        ['max per second', task.maxPerSecond === null ? '-' : String(task.maxPerSecond)],
        ['filter', compactJson(task.filter ?? {}, 200)],
        ['started', formatTimeAgo(task.startedAt, now)],
        ['updated', formatTimeAgo(task.updatedAt, now)],
        ['finished', formatTimeAgo(task.finishedAt, now)],
        ['by', task.by ?? '-'],
        ...(task.error ? [['error', task.error] as [string, string]] : []),
      ]),
    ),
  ].join('\n');

export interface RecountBody {
  taskId: string;
  status: string;
  counting?: unknown;
  corrections?: Record<string, number> | null;
  skipped?: string[] | null;
  startedAt: number;
  updatedAt: number;
  finishedAt: number | null;
}

export const recountView = (r: RecountBody, now = Date.now()): string =>
  [
    `Recount ${r.taskId}, ${r.status}`,
    indent(
      fields([
        ['counting', compactJson(r.counting ?? null, 200)],
        ['corrections', compactJson(r.corrections ?? null, 200)],
        ['skipped', r.skipped && r.skipped.length > 0 ? r.skipped.join(', ') : '-'],
        ['started', formatTimeAgo(r.startedAt, now)],
        ['finished', formatTimeAgo(r.finishedAt, now)],
      ]),
    ),
  ].join('\n');
