import { eventually } from '../support/requeue-harness';
import { runtimesOnOneDataDir } from '../support/local-runtime';

// LevelDB allows one process on a folder: a second runtime on a data folder in use is told so, and touches nothing

const { start } = runtimesOnOneDataDir({ REQUEUE_VISIBILITY_TIMEOUT: '4', REQUEUE_WORKER_CONCURRENCY: '1' });

it('refuses to start on a data folder another runtime is using, which keeps serving it', async () => {
  const first = await start();
  const job = (await first.request('POST', '/jobs', { name: 'demo.echo', data: { n: 1 } })).body;
  await eventually(async () => (await first.request('GET', '/jobs/metrics')).body.completed === 1, 10_000, 'the job counted completed');

  await expect(start()).rejects.toThrow(/exited with code 1 before it was ready[^]*The data folder \S+ is in use by another requeue/);
  expect((await first.request('GET', `/jobs/details/${job.id}`)).body.state).toBe('completed');
  expect((await first.request('GET', '/jobs/metrics')).body).toMatchObject({ completed: 1, total: 1 });

  // once it stops, the folder is free
  await first.interrupt();
  const second = await start();
  expect((await second.request('GET', `/jobs/details/${job.id}`)).body.state).toBe('completed');
  await second.kill();
}, 90_000);
