import { MAX_PAGE_BYTES } from '../../lambda/adapters/dynamodb-job-projections';
import { DynamoDbJobStore } from '../../lambda/adapters/dynamodb-job-store';
import { storeFailedJob } from '../support/job-fixtures';
import { startHarness, type Harness } from '../support/requeue-harness';

let h: Harness;
const JOBS = 50;
const T = 1_700_000_000_000;
/** Data that puts about 25 jobs in a page: the cut, not the limit, ends each page. */
const DATA_CHARS = Math.floor(MAX_PAGE_BYTES / 25 / 2);

/** What a page weighs in Lambda's result: its JSON text, escaped once more as the result's body string. */
const responseBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(JSON.stringify(value))) - 2;

beforeAll(async () => {
  h = await startHarness();
  const store = new DynamoDbJobStore({ tableName: h.tableName, retentionMs: 60_000 });
  // straight into the table: the test does not depend on the enqueue's data budget
  for (let i = 0; i < JOBS; i++) {
    // quotes count four times in the result, letters once: half of each
    const text = 'a"'.repeat(DATA_CHARS / 2);
    await storeFailedJob(store, { id: `big-${String(i).padStart(2, '0')}`, name: 'big.job', data: { i, text }, failedAt: T + i });
  }
});
afterAll(() => h.stop());

it('cuts pages of large jobs before 5 MB, and lists every job once, newest first, by cursor', async () => {
  const pages: { id: string }[][] = [];
  let path = '/jobs/failed?limit=1000';
  for (;;) {
    const answer = await h.request('GET', path);
    expect(answer.status).toBe(200);
    pages.push(answer.body);
    const next = answer.headers.get('x-next-cursor');
    if (!next) break;
    path = `/jobs/failed?limit=1000&cursor=${encodeURIComponent(next)}`;
  }
  const ids = pages.flat().map((job) => job.id);
  expect(ids).toEqual(Array.from({ length: JOBS }, (_, i) => `big-${String(JOBS - 1 - i).padStart(2, '0')}`));
  expect(pages.length).toBeGreaterThan(1);
  pages.forEach((page, i) => {
    expect(responseBytes(page)).toBeLessThanOrEqual(MAX_PAGE_BYTES);
    // and no page stopped sooner than it had to: the next job would not have fitted
    if (i < pages.length - 1) expect(responseBytes([...page, pages[i + 1]![0]])).toBeGreaterThan(MAX_PAGE_BYTES);
  });
});
