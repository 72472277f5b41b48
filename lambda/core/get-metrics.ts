import type { JobState } from './job';
import type { JobQueue, JobStore, QueueDepth } from './ports';

export type Metrics = Record<JobState, number> & {
  readonly total: number;
  readonly queues: { readonly main: QueueDepth; readonly deadLetter: QueueDepth };
};

export const getMetrics = async ({ store, queue }: { store: JobStore; queue: JobQueue }): Promise<Metrics> => {
  const [counts, queues] = await Promise.all([store.countByState(), queue.depths()]);
  const total = Object.values(counts).reduce((sum, n) => sum + n, 0);
  return { ...counts, total, queues };
};
