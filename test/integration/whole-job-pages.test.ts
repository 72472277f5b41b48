import { bytesInResponse, MAX_WHOLE_JOB_PAGE_BYTES } from '../../lambda/adapters/dynamodb-job-projections';
import { DynamoDbJobStore } from '../../lambda/adapters/dynamodb-job-store';
import type { Job } from '../../lambda/core/job';
import { storeFailedJob } from '../support/job-fixtures';
import { startHarness, type Harness } from '../support/requeue-harness';

let h: Harness;
let store: DynamoDbJobStore;
const JOBS = 80;
const T = 1_700_000_000_000;
/** About 60 such jobs fill a page of whole jobs: the cut, not the limit of 500, ends the first page. */
const TEXT = 'a"'.repeat(Math.floor(MAX_WHOLE_JOB_PAGE_BYTES / 60 / 5));

const id = (i: number) => `whole-${String(i).padStart(2, '0')}`;

beforeAll(async () => {
  h = await startHarness();
  store = new DynamoDbJobStore({ tableName: h.tableName, retentionMs: 60_000 });
  for (let i = 0; i < JOBS; i++) {
    await storeFailedJob(store, { id: id(i), name: 'big.job', data: { i, text: TEXT }, failedAt: T + i });
  }
});
afterAll(() => h.stop());

it('reads whole jobs in pages of at most 16 MB, each job once, newest first', async () => {
  const pages: Job[][] = [];
  let cursor: string | undefined;
  do {
    const page = await store.listFailed({}, 500, cursor);
    pages.push([...page.items]);
    cursor = page.cursor;
  } while (cursor);

  const weight = (jobs: readonly Job[]) => jobs.reduce((sum, job) => sum + bytesInResponse(job), 2);
  expect(pages.flat().map((job) => job.id)).toEqual(Array.from({ length: JOBS }, (_, i) => id(JOBS - 1 - i)));
  expect(pages.length).toBeGreaterThan(1);
  pages.forEach((page, i) => {
    expect(weight(page)).toBeLessThanOrEqual(MAX_WHOLE_JOB_PAGE_BYTES);
    // no page stopped sooner than it had to: the next job would not have fitted
    if (i < pages.length - 1) expect(weight([...page, pages[i + 1]![0]!])).toBeGreaterThan(MAX_WHOLE_JOB_PAGE_BYTES);
  });
});
