import { DynamoDbJobStore } from '../../lambda/adapters/dynamodb-job-store';
import { storeFailedJob } from '../support/job-fixtures';
import { eventually, startHarness, type Harness } from '../support/requeue-harness';

let h: Harness;
let store: DynamoDbJobStore;

const T = 1_700_000_000_000;

beforeAll(async () => {
  h = await startHarness();
  store = new DynamoDbJobStore({ tableName: h.tableName, retentionMs: 60_000 });
  // 12 failed jobs: names alternate, one per minute, two kinds of error
  for (let i = 0; i < 12; i++) {
    await storeFailedJob(store, {
      id: `f${String(i).padStart(2, '0')}`,
      name: i % 2 === 0 ? 'demo.flaky' : 'email.send',
      failedAt: T + i * 60_000,
      error: i % 3 === 0 ? 'ECONNRESET talking to smtp' : 'card declined',
    });
  }
  await h.caughtUp();
});
afterAll(() => h.stop());

const ids = (answer: { body: { id: string }[] }) => answer.body.map((j) => j.id);

describe('GET /jobs/failed filters', () => {
  it('lists by name, newest failure first', async () => {
    expect(ids(await h.request('GET', '/jobs/failed?name=email.send'))).toEqual(['f11', 'f09', 'f07', 'f05', 'f03', 'f01']);
  });

  it('lists a time window, both ends included', async () => {
    const answer = await h.request('GET', `/jobs/failed?since=${T + 3 * 60_000}&until=${T + 5 * 60_000}`);
    expect(ids(answer)).toEqual(['f05', 'f04', 'f03']);
  });

  it('takes the window in ISO 8601 as well, in the query string and a retry-all body', async () => {
    const iso = (at: number) => new Date(at).toISOString();
    // T + 3 min in UTC, then T + 5 min written at +02:00
    const until = new Date(T + 5 * 60_000 + 2 * 3600_000).toISOString().replace('Z', '+02:00');
    const answer = await h.request('GET', `/jobs/failed?since=${iso(T + 3 * 60_000)}&until=${encodeURIComponent(until)}`);
    expect(ids(answer)).toEqual(['f05', 'f04', 'f03']);
    const dryRun = await h.request('POST', '/jobs/retry-all-failed', { since: iso(T + 3 * 60_000), until, dryRun: true });
    expect(dryRun.body.total).toBe(3);
    const vague = await h.request('GET', '/jobs/failed?since=2023-11-14');
    expect(vague.status).toBe(400);
    expect(vague.body.error).toMatch(/has no time zone/);
  });

  it('lists by error text, with name and window together', async () => {
    expect(ids(await h.request('GET', '/jobs/failed?error=ECONNRESET'))).toEqual(['f09', 'f06', 'f03', 'f00']);
    expect(ids(await h.request('GET', `/jobs/failed?error=ECONNRESET&name=demo.flaky&since=${T + 60_000}`))).toEqual(['f06']);
  });

  it('matches the error text whatever the case of either', async () => {
    expect(ids(await h.request('GET', '/jobs/failed?error=econnreset'))).toEqual(['f09', 'f06', 'f03', 'f00']);
    expect(ids(await h.request('GET', '/jobs/failed?error=CARD%20DECLINED&name=email.send&limit=2'))).toEqual(['f11', 'f07']);
    expect((await h.request('POST', '/jobs/retry-all-failed', { error: 'EconnReset', dryRun: true })).body.total).toBe(4);
  });

  it('pages a filtered list with the cursor, full pages even when the error filter skips items', async () => {
    const seen: string[] = [];
    let path = '/jobs/failed?error=declined&limit=3';
    for (;;) {
      const answer = await h.request('GET', path);
      seen.push(...ids(answer));
      const next = answer.headers.get('x-next-cursor');
      if (!next) break;
      expect(answer.body).toHaveLength(3);
      path = `/jobs/failed?error=declined&limit=3&cursor=${encodeURIComponent(next)}`;
    }
    expect(seen).toEqual(['f11', 'f10', 'f08', 'f07', 'f05', 'f04', 'f02', 'f01']);
  });

  it('refuses a cursor of another filter, a reversed window, and an unknown parameter', async () => {
    const first = await h.request('GET', '/jobs/failed?limit=1');
    const cursor = first.headers.get('x-next-cursor')!;
    const other = await h.request('GET', `/jobs/failed?name=email.send&cursor=${encodeURIComponent(cursor)}`);
    expect(other.status).toBe(400);
    const reversed = await h.request('GET', `/jobs/failed?since=${T + 1}&until=${T}`);
    expect(reversed).toMatchObject({ status: 400, body: { code: 'VALIDATION_ERROR', error: expect.stringMatching(/is after until/) } });
    const typo = await h.request('GET', '/jobs/failed?nmae=x');
    expect(typo).toMatchObject({ status: 400, body: { error: expect.stringMatching(/Unknown parameter nmae/) } });
  });
});

describe('POST /jobs/retry-all-failed with filters', () => {
  it('answers a dry run with the count and changes nothing', async () => {
    const answer = await h.request('POST', '/jobs/retry-all-failed', { name: 'email.send', dryRun: true });
    expect(answer.body).toEqual({
      message: 'Dry run: 6 failed job(s) match; nothing was retried',
      dryRun: true,
      retriedCount: 0,
      failedCount: 0,
      total: 6,
    });
    expect((await h.request('GET', '/jobs/metrics')).body.failed).toBe(12);
  });

  it('retries only the jobs the filter and limit take, each once', async () => {
    h.startWorker();
    const answer = await h.request('POST', `/jobs/retry-all-failed?name=demo.flaky&limit=4`);
    expect(answer.body).toEqual({ message: 'Retry operation complete', retriedCount: 4, failedCount: 0, total: 4 });
    for (const id of ['f10', 'f08', 'f06', 'f04']) {
      const job = await eventually(async () => {
        const j = await store.get(id);
        return j?.state === 'completed' && j;
      });
      expect(job.history).toHaveLength(2);
    }
    expect(ids(await h.request('GET', '/jobs/failed?name=demo.flaky'))).toEqual(['f02', 'f00']);
    // the filter can come in the body too
    const byBody = await h.request('POST', '/jobs/retry-all-failed', { error: 'ECONNRESET', until: T + 3 * 60_000 });
    expect(byBody.body).toMatchObject({ retriedCount: 2, total: 2 }); // f03, f00
    await h.stopWorker();
  });

  it('refuses bad options with 400', async () => {
    for (const body of [{ limit: 0 }, { dryRun: 'yes' }, { since: -1 }, { nme: 'x' }, [1]]) {
      const answer = await h.request('POST', '/jobs/retry-all-failed', body);
      expect(answer.status).toBe(400);
      expect(answer.body.code).toBe('VALIDATION_ERROR');
    }
  });
});
