import { randomUUID } from 'node:crypto';
import type { recountViewSchema, ResponseBody } from './api-schemas';
import { StateConflictError } from './errors';
import { JOB_STATES, type JobState } from './job';
import type { JobStore, TaskQueue } from './ports';

/**
 * A recount of every job, on demand (`POST /jobs/recount`), run in the
 * background chunk by chunk as retry tasks are: the counters stay right by
 * themselves (each change, and the expiry stream), so only a counter write
 * lost to a crash calls for one, and its reads grow with the jobs retained.
 *
 * States are counted one after the other, a page at a time, the progress
 * saved after each page. A state's counter is set to its count only if it
 * read the same before and after the count, the after read made once the
 * counters' lag behind the table's stream is over (no change of that state
 * was written meanwhile); otherwise the state is counted again, up to three
 * times, then left as it was and named in `skipped`.
 */
export const RECOUNT_STATUSES = ['RUNNING', 'COMPLETED', 'FAILED'] as const;
export type RecountStatus = (typeof RECOUNT_STATUSES)[number];

/** Recount ids share the tasks queue with retry tasks: the prefix tells the runner which is which. */
export const RECOUNT_ID_PREFIX = 'recount-';
export const isRecountId = (id: string): boolean => id.startsWith(RECOUNT_ID_PREFIX);

/** Counts of one state tried before it is skipped. */
const TRIES_PER_STATE = 3;
/** A chunk's lease outlasts its time budget by this much. */
const LEASE_MARGIN_MS = 30_000;

export interface RecountTask {
  readonly id: string;
  readonly status: RecountStatus;
  /** States still to count; the first is under way. */
  readonly states: readonly JobState[];
  /** Jobs counted so far in the state under way, and where its count goes on. */
  readonly counted: number;
  readonly cursor?: string;
  /** The state's counter when its count (this try) began. */
  readonly counterBefore?: number;
  /** Tries of the state under way before this one. */
  readonly tries: number;
  /** What each recounted state's counter was set to its count by (0: it was right). */
  readonly corrections: Partial<Record<JobState, number>>;
  /** States left as they were: their jobs kept moving while they were counted. */
  readonly skipped: readonly JobState[];
  readonly startedAt: number;
  readonly updatedAt: number;
  readonly finishedAt?: number;
  readonly leaseUntil?: number;
  /** Bumped by every write: a runner writes only over the version it read. */
  readonly version: number;
  readonly error?: string;
}

/** Where recounts live, beside the jobs. */
export interface RecountStore {
  createRecount(task: RecountTask): Promise<void>;
  getRecount(id: string): Promise<RecountTask | undefined>;
  /** Write `next` only if the stored task still has `expectVersion`; otherwise StateConflictError. */
  saveRecount(next: RecountTask, expectVersion: number): Promise<void>;
  /** Running recounts not updated since `before` and whose lease ended before it: their runner died. */
  listAbandonedRecounts(before: number): Promise<readonly RecountTask[]>;
}

export interface RecountDeps {
  readonly store: JobStore;
  readonly recounts: RecountStore;
  readonly now?: () => number;
  /**
   * How far the counters may lag the jobs (they follow the table's stream):
   * a state's counter is read again this long after its last page, so that
   * a change the count saw has reached the counter by then. @default 0
   */
  readonly settleMs?: number;
  /** @default a timer */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** What `GET /jobs/recount/{taskId}` shows. */
export const toRecountView = (task: RecountTask): ResponseBody<typeof recountViewSchema> => ({
  taskId: task.id,
  status: task.status,
  counting: task.status === 'RUNNING' ? (task.states[0] ?? null) : null,
  corrections: task.corrections,
  skipped: task.skipped,
  startedAt: task.startedAt,
  updatedAt: task.updatedAt,
  finishedAt: task.finishedAt ?? null,
  error: task.error ?? null,
});

/** Record a recount and wake a runner; if the wake-up cannot be sent, the recount is marked FAILED and the error thrown. */
export const startRecount = async (
  { recounts, taskQueue, now = Date.now }: Pick<RecountDeps, 'recounts' | 'now'> & { taskQueue: TaskQueue },
): Promise<RecountTask> => {
  const at = now();
  const task: RecountTask = {
    id: `${RECOUNT_ID_PREFIX}${randomUUID()}`,
    status: 'RUNNING',
    states: JOB_STATES,
    counted: 0,
    tries: 0,
    corrections: {},
    skipped: [],
    startedAt: at,
    updatedAt: at,
    version: 0,
  };
  await recounts.createRecount(task);
  try {
    await taskQueue.sendTask(task.id);
  } catch (error) {
    await recounts.saveRecount({ ...task, status: 'FAILED', error: 'Could not start it: try again', finishedAt: now(), version: 1 }, 0);
    throw error;
  }
  return task;
};

/** The task with the state under way finished: on to the next one. */
const nextState = (task: RecountTask, changes: Partial<RecountTask>): Partial<RecountTask> => ({
  ...changes,
  states: task.states.slice(1),
  counted: 0,
  cursor: undefined,
  counterBefore: undefined,
  tries: 0,
});

/**
 * Run one chunk of a recount for about `budgetMs`. Resolves 'continue' when
 * there is more to count (the caller wakes the next chunk), 'done' otherwise,
 * also when another runner holds the task.
 */
export const runRecountChunk = async (deps: RecountDeps, id: string, budgetMs: number): Promise<'continue' | 'done'> => {
  const { store, recounts, now = Date.now, settleMs = 0, sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)) } = deps;
  let task = await recounts.getRecount(id);
  if (!task || task.status !== 'RUNNING') return 'done';
  const start = now();
  if ((task.leaseUntil ?? 0) > start) return 'done';
  const save = async (changes: Partial<RecountTask>) => {
    const next: RecountTask = { ...task!, ...changes, updatedAt: now(), version: task!.version + 1 };
    await recounts.saveRecount(next, task!.version);
    task = next;
  };
  try {
    await save({ leaseUntil: start + budgetMs + LEASE_MARGIN_MS });
    for (;;) {
      const state = task.states[0];
      if (state === undefined) {
        await save({ status: 'COMPLETED', finishedAt: now(), leaseUntil: undefined });
        return 'done';
      }
      const counterBefore = task.counterBefore ?? (await store.countByState())[state];
      const page = await store.countStatePage(state, task.cursor);
      const counted = task.counted + page.count;
      if (page.cursor) {
        await save({ counted, cursor: page.cursor, counterBefore });
      } else {
        // a change the count saw but the counter had not yet (its stream batch still on the way) would be added twice:
        // once by the correction, once by the stream. Waited out, it shows as a counter that moved: counted again
        if (settleMs > 0) await sleep(settleMs);
        const counterAfter = (await store.countByState())[state];
        if (counterAfter === counterBefore) {
          const delta = counted - counterAfter;
          // named for this count: a chunk that died after the write and is run again does not add it twice
          if (delta !== 0) await store.adjustCount(state, delta, `${task.id}#${state}#${task.tries}`);
          await save(nextState(task, { corrections: { ...task.corrections, [state]: delta } }));
        } else if (task.tries + 1 < TRIES_PER_STATE) {
          await save({ counted: 0, cursor: undefined, counterBefore: undefined, tries: task.tries + 1 });
        } else {
          await save(nextState(task, { skipped: [...task.skipped, state] }));
        }
      }
      if (now() - start >= budgetMs) {
        await save({ leaseUntil: undefined });
        return 'continue';
      }
    }
  } catch (error) {
    if (error instanceof StateConflictError) return 'done'; // another runner took it over
    throw error;
  }
};

/**
 * The reconciler's part: wake a runner for each running recount whose runner
 * died (its lease, or its wake-up message, lost before `now`); after a local
 * restart `everyOpenRecount` takes them all. A runner finding another's lease
 * still running leaves the recount alone, so a second wake-up is harmless.
 */
export const resumeAbandonedRecounts = async (
  { recounts, taskQueue, now = Date.now }: Pick<RecountDeps, 'recounts' | 'now'> & { taskQueue: TaskQueue },
  { everyOpenRecount = false }: { everyOpenRecount?: boolean } = {},
): Promise<number> => {
  const abandoned = await recounts.listAbandonedRecounts(everyOpenRecount ? Number.MAX_SAFE_INTEGER : now());
  for (const task of abandoned) {
    if (task.leaseUntil !== undefined) {
      await recounts
        .saveRecount({ ...task, leaseUntil: undefined, version: task.version + 1 }, task.version)
        .catch((error: unknown) => {
          if (!(error instanceof StateConflictError)) throw error;
        });
    }
    await taskQueue.sendTask(task.id);
  }
  return abandoned.length;
};
