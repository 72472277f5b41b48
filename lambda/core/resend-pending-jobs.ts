import type { JobState } from './job';
import type { JobQueue, JobStore } from './ports';

const PENDING: readonly JobState[] = ['waiting', 'delayed', 'active'];

/**
 * Send a fresh message for every job that should run but may have none: the
 * local SQS forgets its messages on restart. A job that already has a message
 * gets a second one; the claim's generation and state checks let only one run.
 */
export const resendPendingJobs = async (
  { store, queue, now = Date.now }: { store: JobStore; queue: JobQueue; now?: () => number },
  pageSize = 100,
): Promise<number> => {
  let sent = 0;
  for (const state of PENDING) {
    let cursor: string | undefined;
    do {
      const page = await store.listByState(state, pageSize, cursor);
      cursor = page.cursor;
      const byDelay = new Map<number, { jobId: string; generation: number }[]>();
      for (const job of page.items) {
        const delay = state === 'delayed' ? Math.max(0, (job.runAt ?? 0) - now()) : 0;
        byDelay.set(delay, [...(byDelay.get(delay) ?? []), { jobId: job.id, generation: job.generation }]);
      }
      for (const [delay, messages] of byDelay) {
        const unsent = await queue.send(messages, delay);
        sent += messages.length - unsent.length;
      }
    } while (cursor);
  }
  return sent;
};
