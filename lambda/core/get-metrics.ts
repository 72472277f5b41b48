import type { metricsSchema, ResponseBody } from './api-schemas';
import { workerPauseView, type WorkerSwitchServices } from './pause-worker';
import type { JobQueue, JobStore } from './ports';

/** Minutes of completed/failed history the metrics show. */
export const THROUGHPUT_MINUTES = 15;

export type Metrics = ResponseBody<typeof metricsSchema>;

/**
 * Counts per state, queue depths, recent throughput and whether the worker is
 * paused: a few small reads, whatever the number of jobs.
 */
export const getMetrics = async ({
  store,
  queue,
  worker,
  changes,
  now = Date.now,
}: { store: JobStore; queue: JobQueue; now?: () => number } & WorkerSwitchServices): Promise<Metrics> => {
  const [counts, queues, throughput, pause] = await Promise.all([
    store.countByState(),
    queue.depths(),
    store.throughput(THROUGHPUT_MINUTES, now()),
    workerPauseView({ worker, changes }),
  ]);
  const total = Object.values(counts).reduce((sum, n) => sum + n, 0);
  return { ...counts, total, queues, throughput, ...pause };
};
