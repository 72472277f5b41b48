import { defineProcessor } from './define-processor';

/** Fails its first `data.failTimes` executions, counted across retries, then returns `{executions}`. */
export default defineProcessor<{ failTimes?: number } | null>('demo.flaky', async (job) => {
  const failTimes = job.data?.failTimes ?? 1;
  if (job.executions <= failTimes) throw new Error(`Flaky failure ${job.executions} of ${failTimes}`);
  return { executions: job.executions };
});
