import { eventually } from '../support/requeue-harness';
import { runtimesOnOneDataDir, type LocalRuntime } from '../support/local-runtime';

// Killing `npm start` and starting it again on the same data loses no job:
// dynalite keeps the jobs on disk, and start-up re-sends a message for every
// unfinished one, since the in-memory SQS starts empty.

// a short lease, so the jobs the kill caught running are taken back soon; the
// worker keeps 2 s of its 4 s for recording outcomes, so jobs here sleep 1 s
const { start } = runtimesOnOneDataDir({ REQUEUE_VISIBILITY_TIMEOUT: '4', REQUEUE_WORKER_CONCURRENCY: '1' });

type Metrics = Record<'waiting' | 'active' | 'completed' | 'failed' | 'delayed' | 'total', number>;

const metricsOf = async (runtime: LocalRuntime): Promise<Metrics> => {
  const answer = await runtime.request('GET', '/jobs/metrics');
  expect(answer.status).toBe(200);
  return answer.body;
};

it('finishes every job after a SIGKILL and a restart on the same data', async () => {
  const first = await start();
  const ids: string[] = [];
  const enqueue = async (body: unknown) => {
    const answer = await first.request('POST', '/jobs', body);
    expect(answer.status).toBe(201);
    ids.push(answer.body.id);
  };
  await enqueue({ name: 'demo.echo', data: { before: 'the crash' } });
  const survivor = ids[0]!;
  await eventually(
    async () => (await first.request('GET', `/jobs/details/${survivor}`)).body.state === 'completed',
    10_000,
    'the first job to complete',
  );
  for (let i = 0; i < 20; i += 1) {
    await enqueue({ name: 'demo.sleep', data: { ms: 1000 }, opts: { timeout: 3000 } });
  }
  for (let i = 0; i < 5; i += 1) {
    await enqueue({ name: 'demo.echo', data: { i }, opts: { delay: 3000 } });
  }
  for (let i = 0; i < 3; i += 1) {
    await enqueue({
      name: 'demo.flaky',
      data: { failTimes: 1 },
      opts: { attempts: 3, backoff: { type: 'fixed', delay: 3000 } },
    });
  }

  // kill while jobs are running, waiting and delayed
  const atKill = await eventually(
    async () => {
      const m = await metricsOf(first);
      // every job counted (the counts follow the table's stream a moment behind)
      return m.total === ids.length && m.active > 0 && m.waiting > 0 && m.delayed > 0 && m;
    },
    10_000,
    'jobs to be running, waiting and delayed at once',
  );
  await first.kill();
  expect(atKill.total).toBe(ids.length);

  const second = await start();
  const after = await eventually(
    async () => {
      const m = await metricsOf(second);
      return m.completed === ids.length && m;
    },
    40_000,
    `all ${ids.length} jobs to complete after the restart`,
  );
  expect(after).toMatchObject({ waiting: 0, active: 0, delayed: 0, failed: 0, total: ids.length });
  // the unfinished jobs were re-sent after the runtime began to serve, not before
  const output = second.output();
  const resent = /Re-sent (\d+) unfinished job\(s\)/.exec(output);
  expect(resent).not.toBeNull();
  expect(Number(resent![1])).toBeGreaterThan(0);
  expect(output.indexOf('requeue is running at')).toBeLessThan(resent!.index);
  for (const id of ids) {
    const job = (await second.request('GET', `/jobs/details/${id}`)).body;
    expect({ id, state: job.state }).toEqual({ id, state: 'completed' });
  }
  const survivorJob = (await second.request('GET', `/jobs/details/${survivor}`)).body;
  expect(survivorJob).toMatchObject({ state: 'completed', returnValue: { before: 'the crash' } });
  // one runtime per data folder: dynalite holds a lock on it
  await second.kill();
}, 80_000);

// npm runs the script through sh; where sh is bash (macOS) it execs node, so
// a Ctrl-C reaches the runtime twice: from the terminal and forwarded by npm
describe.each(['sh', 'bash'])('Ctrl-C with npm running the script through %s', (scriptShell) => {
  it('stops cleanly, keeping its data for the next start', async () => {
    const runtime = await start({ scriptShell });
    const jobId = `kept-across-stops-${scriptShell}`;
    const answer = await runtime.request('POST', '/jobs', { name: 'demo.echo', opts: { jobId } });
    expect(answer.status).toBe(201);
    await eventually(
      async () => (await runtime.request('GET', `/jobs/details/${jobId}`)).body.state === 'completed',
      10_000,
      'the job to complete',
    );

    const stopping = Date.now();
    await runtime.interrupt();
    expect(Date.now() - stopping).toBeLessThan(5_000);
    expect(runtime.output()).toMatch(/^requeue stopped$/m);
    expect(runtime.output()).not.toMatch(/Stopping at once|did not stop cleanly|Error/);

    const next = await start();
    expect((await next.request('GET', `/jobs/details/${jobId}`)).body.state).toBe('completed');
    await next.interrupt();
    expect(next.output()).toMatch(/^requeue stopped$/m);
  }, 40_000);
});

it('lets running jobs finish before it stops', async () => {
  const runtime = await start();
  const answer = await runtime.request('POST', '/jobs', { name: 'demo.sleep', data: { ms: 1000 }, opts: { timeout: 3000 } });
  expect(answer.status).toBe(201);
  const id = answer.body.id;
  await eventually(
    async () => (await runtime.request('GET', `/jobs/details/${id}`)).body.state === 'active',
    10_000,
    'the job to start',
  );
  await runtime.interrupt();
  expect(runtime.output()).toMatch(/Stopping: waiting for 1 batch\(es\) of running jobs to finish/);
  expect(runtime.output()).toMatch(/^requeue stopped$/m);

  // finished before the stop, not resumed after it
  const next = await start();
  const job = (await next.request('GET', `/jobs/details/${id}`)).body;
  expect(job).toMatchObject({ state: 'completed', attempts: 1, returnValue: { sleptMs: 1000 } });
  expect(job.history).toHaveLength(1);
  await next.interrupt();
}, 40_000);

it('retries, after a restart, a job that failed before it (its dead-letter copy is gone with fauxqs)', async () => {
  const runtime = await start();
  const answer = await runtime.request('POST', '/jobs', { name: 'demo.flaky', data: { failTimes: 1 }, opts: { attempts: 1 } });
  expect(answer.status).toBe(201);
  const id = answer.body.id;
  await eventually(
    async () => (await runtime.request('GET', `/jobs/details/${id}`)).body.state === 'failed',
    10_000,
    'the job to fail',
  );
  await runtime.interrupt();

  const next = await start();
  const failed = await next.request('GET', '/jobs/failed?limit=50');
  expect(failed.body.map((job: { id: string }) => job.id)).toContain(id);
  const retry = await next.request('POST', `/jobs/retry/${id}`);
  expect(retry.status).toBe(200);
  expect(retry.body).toEqual({ message: `Job '${id}' has been queued for retry`, jobId: id });
  const job = await eventually(
    async () => {
      const body = (await next.request('GET', `/jobs/details/${id}`)).body;
      return body.state === 'completed' && body;
    },
    10_000,
    'the retried job to complete',
  );
  expect(job.attempts).toBe(1);
  await next.interrupt();
}, 40_000);
