import { createDynamoDbClient } from '../../lambda/adapters/aws-clients';
import { PAGE_ENTRY_BUDGET } from '../../lambda/adapters/dynamodb-job-listings';
import { DynamoDbJobStore } from '../../lambda/adapters/dynamodb-job-store';
import type { Job, JobState } from '../../lambda/core/job';
import { createJob } from '../../lambda/core/transitions';
import { startHarness, type Harness } from '../support/requeue-harness';

// Waiting, active and delayed jobs share the pending index partitions: a
// listing of a state that is rare among them passes over many entries for
// each job it shows, and each page does so within a budget.

const T = 1_700_000_000_000;
const WAITING = 1_500;
const HOUR = 3_600_000;

let h: Harness;
let store: DynamoDbJobStore;
/** BatchGetItem requests the store sent, and the keys they named: the index entries its pages examined. */
const batchGets = { requests: 0, keys: 0 };

const job = (id: string, at: number, delay = 0): Job =>
  createJob({ id, name: 'demo.pending', data: null, opts: { attempts: 1, backoff: { type: 'fixed', delay: 0 }, delay } }, at);

/** Newest first: the delayed jobs d1..d4 among a few waiting ones, then the many waiting, then the oldest job, delayed. */
const jobs: Job[] = [
  job('d1', T + 10_000_008, HOUR),
  job('n1', T + 10_000_007),
  job('n2', T + 10_000_006),
  job('n3', T + 10_000_005),
  job('d2', T + 10_000_004, HOUR),
  job('d3', T + 10_000_003, HOUR),
  job('n4', T + 10_000_002),
  job('d4', T + 10_000_001, HOUR),
  ...Array.from({ length: WAITING }, (_, i) => job(`w${String(WAITING - 1 - i).padStart(4, '0')}`, T + 1_000 + WAITING - 1 - i)),
  job('oldest', T, HOUR),
];
const newestFirst = (state: JobState) => jobs.filter((j) => j.state === state).map((j) => j.id);

beforeAll(async () => {
  h = await startHarness();
  const client = createDynamoDbClient();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'BatchGetItemCommand') {
        const { RequestItems = {} } = args.input as { RequestItems?: Record<string, { Keys?: unknown[] }> };
        batchGets.requests++;
        for (const request of Object.values(RequestItems)) batchGets.keys += request.Keys?.length ?? 0;
      }
      return next(args);
    },
    { step: 'initialize', name: 'countBatchGets' },
  );
  store = new DynamoDbJobStore({ tableName: h.tableName, retentionMs: 60_000, client });
  for (let i = 0; i < jobs.length; i += 50) await Promise.all(jobs.slice(i, i + 50).map((j) => store.create(j)));
  await h.caughtUp();
}, 120_000);
afterAll(() => h.stop());

/** Every page of `GET /jobs?<query>`, following X-Next-Cursor. */
const pagesOf = async (query: string) => {
  const pages: { ids: string[]; cursor?: string }[] = [];
  let cursor: string | undefined;
  do {
    const answer = await h.request('GET', `/jobs?${query}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(answer.status).toBe(200);
    cursor = answer.headers.get('x-next-cursor') ?? undefined;
    pages.push({ ids: (answer.body as { id: string }[]).map((j) => j.id), cursor });
  } while (cursor);
  return pages;
};

describe('a listing of a pending state', () => {
  it('examines at most PAGE_ENTRY_BUDGET entries a page, in few requests, and pages on with a cursor', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let empty = 0;
    do {
      const before = { ...batchGets };
      const page = await store.listByState('delayed', 1, cursor);
      const keys = batchGets.keys - before.keys;
      expect(keys).toBeLessThanOrEqual(PAGE_ENTRY_BUDGET);
      // batches widen, doubling up to BatchGetItem's 100 keys, while they find nothing
      expect(batchGets.requests - before.requests).toBeLessThanOrEqual(Math.ceil(PAGE_ENTRY_BUDGET / 100) + 8);
      if (page.items.length === 0) {
        empty++;
        expect(keys).toBe(PAGE_ENTRY_BUDGET);
        expect(page.cursor).toBeDefined();
      }
      seen.push(...page.items.map((j) => j.id));
      cursor = page.cursor;
    } while (cursor);
    expect(seen).toEqual(['d1', 'd2', 'd3', 'd4', 'oldest']);
    expect(empty).toBeGreaterThan(0);
  });

  it('lists each delayed job exactly once, in order, whether a page fills at a batch end or in its middle', async () => {
    for (const limit of [1, 2, 3]) {
      const pages = await pagesOf(`state=delayed&limit=${limit}`);
      expect(pages.flatMap((p) => p.ids)).toEqual(newestFirst('delayed'));
      for (const page of pages) expect(page.ids.length).toBeLessThanOrEqual(limit);
      // among the many waiting jobs a page spends its budget: short or empty, with a cursor
      expect(pages.some((p) => p.ids.length < limit && p.cursor !== undefined)).toBe(true);
    }
  });

  it('answers a state no job is in with pages that end', async () => {
    const pages = await pagesOf('state=active&limit=1');
    expect(pages.flatMap((p) => p.ids)).toEqual([]);
    expect(pages.length).toBe(Math.ceil(jobs.length / PAGE_ENTRY_BUDGET));
  });

  it('pages every waiting job exactly once, newest first', async () => {
    const waiting = newestFirst('waiting');
    expect(waiting.length).toBe(WAITING + 4);
    for (const limit of [100, 1000]) {
      const pages = await pagesOf(`state=waiting&limit=${limit}`);
      expect(pages.flatMap((p) => p.ids)).toEqual(waiting);
    }
  });
});
