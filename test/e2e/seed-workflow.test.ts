import { eventually } from '../support/requeue-harness';
import { removeDataDir, startLocalRuntime, STARTUP_BUDGET_MS, type LocalRuntime } from '../support/local-runtime';

// The seed guide's workflow, over HTTP against `npm start`, as a user runs it.

let runtime: LocalRuntime;

beforeAll(async () => {
  runtime = await startLocalRuntime();
}, STARTUP_BUDGET_MS + 5_000);

afterAll(async () => {
  await runtime?.kill();
  if (runtime) removeDataDir(runtime.dataDir);
});

// Jobs this file has had accepted: the metrics, counted from the table's
// stream, reach this number once they have caught up.
let accepted = 0;
const post = async (body: unknown) => {
  const answer = await runtime.request('POST', '/jobs', body);
  if (answer.status === 201) accepted += 1;
  return answer;
};

const enqueue = async (body: unknown): Promise<string> => {
  const answer = await post(body);
  expect(answer.status).toBe(201);
  return answer.body.id;
};

const details = async (id: string) => {
  const answer = await runtime.request('GET', `/jobs/details/${id}`);
  expect(answer.status).toBe(200);
  return answer.body;
};

const untilState = (id: string, state: string, timeoutMs = 10_000) =>
  eventually(
    async () => {
      const job = await details(id);
      return job.state === state && job;
    },
    timeoutMs,
    `job ${id} to be ${state}`,
  );

describe('npm start', () => {
  it(`serves its port within ${STARTUP_BUDGET_MS / 1000} s and prints one line saying where`, () => {
    expect(runtime.startupMs).toBeLessThan(STARTUP_BUDGET_MS);
    expect(runtime.url).toMatch(/^http:\/\/localhost:\d+$/);
    expect(runtime.output().match(/requeue is running at/g)).toHaveLength(1);
  });

  it('enqueues a job (201 {id, name, state}) and runs it to completion', async () => {
    const answer = await post({ name: 'demo.echo', data: { hello: 'world' } });
    expect(answer.status).toBe(201);
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    expect(answer.body).toEqual({ id: expect.any(String), name: 'demo.echo', state: 'waiting' });
    const job = await untilState(answer.body.id, 'completed');
    expect(job).toMatchObject({ name: 'demo.echo', data: { hello: 'world' }, attempts: 1, returnValue: { hello: 'world' } });
  });

  it('fails a demo.fail job with attempts 2 and backoff 0 within 10 s, and lists it with its error', async () => {
    const enqueuedAt = Date.now();
    const id = await enqueue({
      name: 'demo.fail',
      data: { message: 'Payment declined' },
      opts: { attempts: 2, backoff: { type: 'fixed', delay: 0 } },
    });
    const job = await untilState(id, 'failed', 10_000);
    expect(Date.now() - enqueuedAt).toBeLessThan(10_000);
    expect(job).toMatchObject({ attempts: 2, maxAttempts: 2, error: 'Payment declined', failedAt: expect.any(Number) });
    expect(job.history).toHaveLength(2);
    expect(job.history.map((entry: { outcome: string }) => entry.outcome)).toEqual(['failed', 'failed']);
    expect(job.history.map((entry: { error: string }) => entry.error)).toEqual(['Payment declined', 'Payment declined']);

    const list = await runtime.request('GET', '/jobs/failed?limit=50');
    expect(list.status).toBe(200);
    expect(Array.isArray(list.body)).toBe(true);
    expect(list.body).toContainEqual({
      id,
      name: 'demo.fail',
      data: { message: 'Payment declined' },
      error: 'Payment declined',
      failedAt: job.failedAt,
      attempts: 2,
      maxAttempts: 2,
    });
  });

  it('answers 404 to a retry of an unknown job', async () => {
    const answer = await runtime.request('POST', '/jobs/retry/no-such-job');
    expect(answer.status).toBe(404);
    expect(answer.body).toEqual({ error: 'Job no-such-job not found', code: 'JOB_NOT_FOUND' });
  });

  it('answers 400 to a retry of a completed job', async () => {
    const id = await enqueue({ name: 'demo.echo', data: {} });
    await untilState(id, 'completed');
    const answer = await runtime.request('POST', `/jobs/retry/${id}`);
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({
      error: `Job ${id} is not in failed state. Current state: completed`,
      code: 'JOB_NOT_FAILED',
    });
  });

  it('retries a failed demo.flaky job, which then completes with attempts 1', async () => {
    const id = await enqueue({
      name: 'demo.flaky',
      data: { failTimes: 2 },
      opts: { attempts: 2, backoff: { type: 'fixed', delay: 0 } },
    });
    const failed = await untilState(id, 'failed');
    expect(failed.attempts).toBe(2);

    const answer = await runtime.request('POST', `/jobs/retry/${id}`);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ message: `Job '${id}' has been queued for retry`, jobId: id });

    const job = await untilState(id, 'completed');
    expect(job.attempts).toBe(1);
    expect(job.history.map((entry: { outcome: string }) => entry.outcome)).toEqual(['failed', 'failed', 'completed']);
    expect(job.retries).toHaveLength(1);
  });

  it('takes a custom jobId once and answers 409 to the duplicate', async () => {
    const first = await post({ name: 'demo.echo', data: { n: 1 }, opts: { jobId: '123' } });
    expect(first.status).toBe(201);
    expect(first.body).toEqual({ id: '123', name: 'demo.echo', state: 'waiting' });
    await untilState('123', 'completed');

    const duplicate = await post({ name: 'demo.echo', data: { n: 2 }, opts: { jobId: '123' } });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body).toEqual({ error: expect.stringContaining('Job 123 already exists'), code: 'DUPLICATE_JOB_ID' });
    expect((await details('123')).data).toEqual({ n: 1 });
  });

  it('answers an unknown route with a 404 JSON error', async () => {
    const answer = await runtime.request('GET', '/nowhere?x=1');
    expect(answer.status).toBe(404);
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    expect(answer.body).toEqual({
      error: 'No route for GET /nowhere. See the README for the routes.',
      code: 'ROUTE_NOT_FOUND',
    });
  });

  it('refuses a bad body with a clear error and changes nothing', async () => {
    const metrics = async () => (await runtime.request('GET', '/jobs/metrics')).body;
    // every job before this test counted and settled, so only the good job
    // below can change the completed count
    const before = await eventually(async () => {
      const m = await metrics();
      return m.total === accepted && m.waiting + m.active + m.delayed === 0 && m.completed + m.failed === accepted && m;
    }, 30_000, `the ${accepted} accepted jobs counted and settled`);
    const answer = await post('{"name": "demo.echo", ');
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ error: expect.stringMatching(/not valid JSON/), code: 'INVALID_JSON' });
    const invalid = await post({ name: 'has spaces' });
    expect(invalid.status).toBe(400);
    expect(invalid.body.code).toBe('VALIDATION_ERROR');
    // One good job after the refusals: once its completion is counted, every
    // write made before it is counted too, so a job the refusals had made
    // would show in the total.
    await untilState(await enqueue({ name: 'demo.echo', data: {} }), 'completed');
    const after = await eventually(async () => {
      const m = await metrics();
      return m.completed === before.completed + 1 && m;
    }, 30_000, 'the good job counted');
    expect(after.total).toBe(before.total + 1);
  });
});
