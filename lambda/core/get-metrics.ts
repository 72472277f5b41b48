import type { metricsSchema, ResponseBody } from './api-schemas';
import type { JobQueue, JobStore } from './ports';

/** Minutes of completed/failed history the metrics show. */
export const THROUGHPUT_MINUTES = 15;

export type Metrics = ResponseBody<typeof metricsSchema>;

/** Counts per state, queue depths and recent throughput: a few small reads, whatever the number of jobs. */
export const getMetrics = async (
  { store, queue, now = Date.now }: { store: JobStore; queue: JobQueue; now?: () => number },
): Promise<Metrics> => {
  const [counts, queues, throughput] = await Promise.all([
    store.countByState(),
    queue.depths(),
    store.throughput(THROUGHPUT_MINUTES, now()),
  ]);
  const total = Object.values(counts).reduce((sum, n) => sum + n, 0);
  return { ...counts, total, queues, throughput };
};
