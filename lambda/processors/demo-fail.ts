import { defineProcessor } from './define-processor';

/** Always fails, with `data.message` as the error. */
export default defineProcessor<{ message?: string } | null>('demo.fail', async (job) => {
  throw new Error(job.data?.message ?? 'Job failed');
});
