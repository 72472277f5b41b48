import { eventually } from '../support/requeue-harness';
import { removeDataDir, startLocalRuntime, STARTUP_BUDGET_MS, type LocalRuntime } from '../support/local-runtime';

// What an operator does after an outage, over HTTP against `npm start`.

let runtime: LocalRuntime;

beforeAll(async () => {
  runtime = await startLocalRuntime();
}, STARTUP_BUDGET_MS + 5_000);

afterAll(async () => {
  await runtime?.kill();
  if (runtime) removeDataDir(runtime.dataDir);
});

const enqueue = async (body: unknown): Promise<string> => {
  const answer = await runtime.request('POST', '/jobs', body);
  expect(answer.status).toBe(201);
  return answer.body.id;
};

const untilState = (id: string, state: string) =>
  eventually(async () => {
    const job = (await runtime.request('GET', `/jobs/details/${id}`)).body;
    return job.state === state && job;
  }, 10_000, `job ${id} to be ${state}`);

describe('npm start, as an operator after an outage', () => {
  it('lists a poison job among the failed, fixes one with new data, removes the other, and runs a delayed one now', async () => {
    const poison = await enqueue({ name: 'no.such.processor', opts: { attempts: 1 } });
    const fixable = await enqueue({ name: 'demo.flaky', data: { failTimes: 9 }, opts: { attempts: 1 } });
    await untilState(poison, 'failed');
    await untilState(fixable, 'failed');

    const failed = await runtime.request('GET', '/jobs?state=failed');
    expect(failed.body.map((j: { id: string }) => j.id).sort()).toEqual([poison, fixable].sort());
    expect(failed.body.find((j: { id: string }) => j.id === poison).error).toBe("No processor registered for job name 'no.such.processor'");

    expect((await runtime.request('POST', `/jobs/retry/${fixable}`, { data: { failTimes: 1 } })).status).toBe(200);
    const fixed = await untilState(fixable, 'completed');
    expect(fixed.retries).toEqual([expect.objectContaining({ by: 'local', dataChanged: true })]);

    expect(await runtime.request('DELETE', `/jobs/${poison}`)).toMatchObject({
      status: 200,
      body: { message: `Job '${poison}' has been removed`, jobId: poison },
    });
    // the counts follow the table's stream a moment behind
    await eventually(async () => (await runtime.request('GET', '/jobs/metrics')).body.failed === 0, 10_000, 'no failed job counted');

    const later = await enqueue({ name: 'demo.echo', opts: { delay: 3_600_000 } });
    expect((await runtime.request('GET', '/jobs?state=delayed')).body.map((j: { id: string }) => j.id)).toEqual([later]);
    expect((await runtime.request('POST', `/jobs/promote/${later}`)).status).toBe(200);
    await untilState(later, 'completed');
  });

  it('removes every failed job of an ISO 8601 window as a task, and finds the task in the list', async () => {
    const since = new Date().toISOString();
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await enqueue({ name: 'demo.fail', opts: { attempts: 1 } }));
    for (const id of ids) await untilState(id, 'failed');
    const started = await runtime.request('POST', '/jobs/remove-all-failed', { since, async: true });
    expect(started).toMatchObject({ status: 202, body: { total: 3 } });
    const task = await eventually(async () => {
      const list = (await runtime.request('GET', '/jobs/retry-tasks')).body;
      return list[0]?.status === 'COMPLETED' && list[0];
    }, 15_000, 'the remove task to complete');
    expect(task).toMatchObject({ taskId: started.body.taskId, kind: 'remove', removed: 3, failed: 0, by: 'local' });
    expect((await runtime.request('GET', '/jobs?state=failed')).body).toEqual([]);
  });
});
