import { DynamoDbJobStore } from '../../lambda/adapters/dynamodb-job-store';
import type { Job } from '../../lambda/core/job';
import { claim, createJob, isClaimRefusal, moveToCompleted } from '../../lambda/core/transitions';
import { storeFailedJob } from '../support/job-fixtures';
import { startHarness, type Harness } from '../support/requeue-harness';

let h: Harness;
let store: DynamoDbJobStore;

const T = 1_700_000_000_000;
const opts = { attempts: 2, backoff: { type: 'fixed' as const, delay: 0 }, delay: 0 };

const created = async (id: string, name: string, at: number, delay = 0): Promise<Job> => {
  const job = createJob({ id, name, data: { big: 'x'.repeat(1000) }, opts: { ...opts, delay } }, at);
  await store.create(job);
  return job;
};
const claimed = async (job: Job, at: number): Promise<Job> => {
  const t = claim(job, 0, at, 3_600_000);
  if (isClaimRefusal(t)) throw new Error(t.reason);
  await store.save(t.next, t.expect);
  return t.next;
};

beforeAll(async () => {
  h = await startHarness();
  store = new DynamoDbJobStore({ tableName: h.tableName, retentionMs: 60_000 });
  // waiting: w0..w4, names alternating, one a minute
  for (let i = 0; i < 5; i++) await created(`w${i}`, i % 2 === 0 ? 'a.job' : 'b.job', T + i * 60_000);
  // delayed jobs are listed as they entered the pending partitions (enqueued), not by when they are due
  await created('d0', 'a.job', T + 1000, 7_200_000);
  await created('d1', 'a.job', T + 2000, 3_600_000);
  await claimed(await created('act0', 'b.job', T), T + 1000);
  for (let i = 0; i < 2; i++) {
    const active = await claimed(await created(`c${i}`, 'a.job', T), T + 1000);
    const done = moveToCompleted(active, T + 1000, T + 2000 + i, { ok: i });
    await store.save(done.next, done.expect);
  }
  await storeFailedJob(store, { id: 'f0', name: 'a.job', failedAt: T + 10_000, error: 'boom' });
  await storeFailedJob(store, { id: 'f1', name: 'b.job', failedAt: T + 20_000, error: 'bang' });
  await h.caughtUp();
});
afterAll(() => h.stop());

const list = (query: string) => h.request('GET', `/jobs?${query}`);
const ids = (answer: { body: { id: string }[] }) => answer.body.map((j) => j.id);

describe('GET /jobs?state=', () => {
  it('lists waiting jobs newest first, as summaries without data', async () => {
    const answer = await list('state=waiting');
    expect(answer.status).toBe(200);
    expect(ids(answer)).toEqual(['w4', 'w3', 'w2', 'w1', 'w0']);
    expect(answer.body[0]).toEqual({
      id: 'w4',
      name: 'a.job',
      state: 'waiting',
      attempts: 0,
      maxAttempts: 2,
      createdAt: T + 4 * 60_000,
      updatedAt: T + 4 * 60_000,
    });
  });

  it('lists every state, each from its own index partition', async () => {
    expect(ids(await list('state=delayed'))).toEqual(['d1', 'd0']);
    expect((await list('state=delayed')).body[0]).toMatchObject({ runAt: T + 2000 + 3_600_000, updatedAt: T + 2000 });
    expect(ids(await list('state=active'))).toEqual(['act0']);
    expect(ids(await list('state=completed'))).toEqual(['c1', 'c0']);
    const failed = await list('state=failed');
    expect(ids(failed)).toEqual(['f1', 'f0']);
    expect(failed.body[0]).toMatchObject({ state: 'failed', failedAt: T + 20_000, updatedAt: T + 20_000, error: 'bang', attempts: 1 });
  });

  it('filters by name, in every state, page by page with X-Next-Cursor', async () => {
    const first = await list('state=waiting&name=a.job&limit=2');
    expect(ids(first)).toEqual(['w4', 'w2']);
    const cursor = first.headers.get('x-next-cursor')!;
    expect(cursor).toBeTruthy();
    const second = await list(`state=waiting&name=a.job&limit=2&cursor=${cursor}`);
    expect(ids(second)).toEqual(['w0']);
    expect(second.headers.get('x-next-cursor')).toBeNull();
    expect(ids(await list('state=failed&name=b.job'))).toEqual(['f1']);
    expect(ids(await list('state=completed&name=b.job'))).toEqual([]);
  });

  it('refuses a cursor of another query', async () => {
    const first = await list('state=waiting&limit=2');
    const cursor = first.headers.get('x-next-cursor')!;
    for (const other of ['state=waiting&name=a.job', 'state=delayed']) {
      const answer = await list(`${other}&cursor=${cursor}`);
      expect(answer.status).toBe(400);
      expect(answer.body.code).toBe('VALIDATION_ERROR');
    }
  });

  it.each([
    ['no state', ''],
    ['an unknown state', 'state=paused'],
    ['a state in capitals', 'state=FAILED'],
    ['a bad name', 'state=waiting&name=a%20b'],
    ['a bad limit', 'state=waiting&limit=0'],
    ['a hex limit', 'state=waiting&limit=0x10'],
    ['a bad cursor', 'state=waiting&cursor=abc'],
    ['an unknown parameter', 'state=waiting&since=1'],
    ['a state given twice', 'state=waiting&state=failed'],
  ])('refuses %s with 400', async (_, query) => {
    const answer = await list(query);
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ error: expect.any(String), code: 'VALIDATION_ERROR' });
  });
});
