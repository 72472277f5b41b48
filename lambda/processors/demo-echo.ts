import { defineProcessor } from './define-processor';

/** Returns its data. */
export default defineProcessor('demo.echo', async (job) => job.data);
