import { setTimeout as sleep } from 'node:timers/promises';
import { defineProcessor } from './define-processor';

/** Waits `data.ms` milliseconds (stopping early if the execution times out). */
export default defineProcessor<{ ms?: number } | null>('demo.sleep', async (job) => {
  const ms = job.data?.ms ?? 0;
  await sleep(ms, undefined, { signal: job.signal }).catch(() => undefined);
  return { sleptMs: ms };
});
