import { StateConflictError } from './errors';
import type { Job, JobState } from './job';
import type { JobQueue, JobStore } from './ports';

export interface ResendOptions {
  /**
   * Only jobs whose state changed at least this long ago. 0 (start-up of a
   * local runtime whose queue is empty) takes every pending job.
   * @default 0
   */
  readonly olderThanMs?: number;
  /**
   * Skip jobs enqueued, retried, run or re-sent at or after this time: the
   * start of a local runtime whose queue was empty. Those jobs got their
   * messages from this runtime while the re-send went on; a second one would
   * only come back, hidden for a lease, after the first had run.
   */
  readonly untouchedSince?: number;
  /** @default 100 */
  readonly pageSize?: number;
  /**
   * Re-send nothing while the main queue holds at least one message per job
   * still to run (a backlog): every such job most likely has its message, and
   * re-sending would only grow the backlog, pass after pass. A job whose
   * message is really gone gets one once the queue drains below that.
   * @default false
   */
  readonly unlessQueueCoversPending?: boolean;
}

/** Messages in the main queue, and jobs still to run, when the first are at least as many; else undefined. */
const backlog = async (store: JobStore, queue: JobQueue) => {
  const [{ main }, counts] = await Promise.all([queue.depths(), store.countByState()]);
  const messages = main.visible + main.inFlight + main.delayed;
  const pending = counts.waiting + counts.delayed + counts.active;
  return messages > 0 && messages >= pending ? { messages, pending } : undefined;
};

export type ResendCounts = Record<'waiting' | 'delayed' | 'active', number>;

/** When the job's next execution may start: delayed until due, an active job once its lease ends. */
const dueIn = (job: Job, now: number): number => {
  if (job.state === 'delayed') return Math.max(0, (job.runAt ?? now) - now);
  if (job.state === 'active') return Math.max(0, (job.leaseUntil ?? now) - now);
  return 0;
};

/** Note the re-send, so the next pass leaves the job alone for a while; a job that moved on meanwhile is left as it is. */
const markResent = async (store: JobStore, job: Job, at: number): Promise<void> => {
  try {
    await store.save(
      { ...job, resentAt: at },
      { states: [job.state], generation: job.generation, attempts: job.attempts },
      job,
    );
  } catch (error) {
    if (!(error instanceof StateConflictError)) throw error;
  }
};

/**
 * The reconciler: send a fresh message for every job that should run but may
 * have none — the local SQS forgets its messages on restart, a send can fail
 * after a write, a worker can die holding a job. A job that still has its
 * message gets a second one; the claim's generation and state checks let only
 * one of them run, so a re-send is always safe.
 */
/** The last time anything sent or handled the job's message: its enqueue, retry, claim, attempt or re-send. */
const lastTouched = (job: Job): number =>
  Math.max(job.createdAt, job.retries.at(-1)?.at ?? 0, job.processedAt ?? 0, job.history.at(-1)?.end ?? 0, job.resentAt ?? 0);

export const resendPendingJobs = async (
  { store, queue, now = Date.now }: { store: JobStore; queue: JobQueue; now?: () => number },
  { olderThanMs = 0, untouchedSince, pageSize = 100, unlessQueueCoversPending = false }: ResendOptions = {},
): Promise<ResendCounts> => {
  const counts: ResendCounts = { waiting: 0, delayed: 0, active: 0 };
  if (unlessQueueCoversPending && (await backlog(store, queue))) return counts;
  const states: (keyof ResendCounts & JobState)[] = ['waiting', 'delayed', 'active'];
  for (const state of states) {
    const changedBefore = olderThanMs > 0 ? now() - olderThanMs : undefined;
    let cursor: string | undefined;
    do {
      const page = await store.listByState(state, pageSize, cursor, changedBefore);
      cursor = page.cursor;
      const byDelay = new Map<number, Job[]>();
      for (const job of page.items) {
        if (untouchedSince !== undefined && lastTouched(job) >= untouchedSince) continue;
        const delay = Math.ceil(dueIn(job, now()) / 1000) * 1000;
        byDelay.set(delay, [...(byDelay.get(delay) ?? []), job]);
      }
      for (const [delay, jobs] of byDelay) {
        const unsent = new Set(
          (await queue.send(jobs.map((job) => ({ jobId: job.id, generation: job.generation })), delay)).map(
            (m) => m.jobId,
          ),
        );
        const sent = jobs.filter((job) => !unsent.has(job.id));
        counts[state] += sent.length;
        await Promise.all(sent.map((job) => markResent(store, job, now())));
      }
    } while (cursor);
  }
  return counts;
};
