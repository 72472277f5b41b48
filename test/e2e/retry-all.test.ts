import { eventually } from '../support/requeue-harness';
import { removeDataDir, startLocalRuntime, STARTUP_BUDGET_MS, type LocalRuntime } from '../support/local-runtime';

// Its own runtime: retry-all acts on every failed job, so no other test's jobs may be around.

let runtime: LocalRuntime;

beforeAll(async () => {
  runtime = await startLocalRuntime();
}, STARTUP_BUDGET_MS + 5_000);

afterAll(async () => {
  await runtime?.kill();
  if (runtime) removeDataDir(runtime.dataDir);
});

const metrics = async () => {
  const answer = await runtime.request('GET', '/jobs/metrics');
  expect(answer.status).toBe(200);
  return answer.body;
};

it('retries every failed job, answers the counts, and the metrics show them moved', async () => {
  const K = 12;
  const ids: string[] = [];
  for (let i = 0; i < K; i += 1) {
    const answer = await runtime.request('POST', '/jobs', {
      name: 'demo.flaky',
      data: { failTimes: 1, n: i },
      opts: { attempts: 1 },
    });
    expect(answer.status).toBe(201);
    ids.push(answer.body.id);
  }
  await eventually(async () => (await metrics()).failed === K, 10_000, `${K} failed jobs`);
  const failedList = await runtime.request('GET', '/jobs/failed?limit=50');
  expect(failedList.body.map((job: { id: string }) => job.id).sort()).toEqual([...ids].sort());

  const answer = await runtime.request('POST', '/jobs/retry-all-failed');
  expect(answer.status).toBe(200);
  expect(answer.body).toEqual({ message: 'Retry operation complete', retriedCount: K, failedCount: 0, total: K });

  // the counts follow the table's stream a moment behind
  const moved = await eventually(async () => {
    const m = await metrics();
    return m.failed === 0 && m;
  }, 10_000, 'no failed job in the metrics');
  expect(moved.waiting + moved.active + moved.delayed + moved.completed).toBe(K);

  const done = await eventually(
    async () => {
      const m = await metrics();
      return m.completed === K && m;
    },
    10_000,
    `${K} completed jobs`,
  );
  expect(done).toMatchObject({ waiting: 0, active: 0, delayed: 0, failed: 0, completed: K, total: K });
  expect((await runtime.request('GET', '/jobs/failed?limit=50')).body).toEqual([]);
  for (const id of ids) {
    const job = (await runtime.request('GET', `/jobs/details/${id}`)).body;
    expect(job).toMatchObject({ state: 'completed', attempts: 1 });
  }
});

it('answers zero counts when nothing has failed', async () => {
  const answer = await runtime.request('POST', '/jobs/retry-all-failed');
  expect(answer.status).toBe(200);
  expect(answer.body).toEqual({ message: 'Retry operation complete', retriedCount: 0, failedCount: 0, total: 0 });
});

it('retries every failed job in the background when asked, through the task runner', async () => {
  const K = 5;
  for (let i = 0; i < K; i += 1) {
    const answer = await runtime.request('POST', '/jobs', { name: 'demo.flaky', data: { failTimes: 1 }, opts: { attempts: 1 } });
    expect(answer.status).toBe(201);
  }
  await eventually(async () => (await metrics()).failed === K, 10_000, `${K} failed jobs`);

  const answer = await runtime.request('POST', '/jobs/retry-all-failed?async=true');
  expect(answer.status).toBe(202);
  expect(answer.body).toMatchObject({ taskId: expect.any(String), total: K });
  const task = await eventually(
    async () => {
      const body = (await runtime.request('GET', `/jobs/retry-tasks/${answer.body.taskId}`)).body;
      return body.status === 'COMPLETED' && body;
    },
    10_000,
    'the retry task to complete',
  );
  expect(task).toMatchObject({ retried: K, failed: 0 });
  await eventually(async () => (await metrics()).failed === 0 && (await metrics()).completed >= K, 10_000, 'the retried jobs to complete');
});
