import { eventually } from '../support/requeue-harness';
import { runtimesOnOneDataDir } from '../support/local-runtime';

// A background retry-all with a limit, caught by a SIGKILL while it waits
// between pages, goes on after a restart on the same data: exactly `limit`
// jobs retried, each once, and the task's counts are theirs.

const { start } = runtimesOnOneDataDir({ REQUEUE_VISIBILITY_TIMEOUT: '4' });

const JOBS = 200;
const LIMIT = 130;
/** Pages of 20, one a second: the runner spends most of its time waiting between two pages. */
const PER_SECOND = 20;

interface JobView {
  id: string;
  state: string;
  generation: number;
  failedAt: number;
  retries: { taskId?: string }[];
  history: { generation: number; attempt: number }[];
}

it('retries exactly `limit` jobs after a kill -9 between two pages, and counts them exactly', async () => {
  const first = await start();
  const ids: string[] = [];
  for (let i = 0; i < JOBS; i++) {
    // fails both attempts of its first run, succeeds when retried (even if the kill costs it an attempt)
    const answer = await first.request('POST', '/jobs', { name: 'demo.flaky', data: { failTimes: 2 }, opts: { attempts: 2 } });
    ids.push(answer.body.id);
  }
  await eventually(async () => (await first.request('GET', '/jobs/metrics')).body.failed === JOBS, 60_000, 'every job to fail');

  const answer = await first.request('POST', '/jobs/retry-all-failed', { async: true, limit: LIMIT, maxPerSecond: PER_SECOND });
  expect(answer.status).toBe(202);
  const { taskId, total } = answer.body;
  expect(total).toBe(LIMIT);
  const during = await eventually(async () => {
    const task = (await first.request('GET', `/jobs/retry-tasks/${taskId}`)).body;
    return task.retried > 0 && task;
  }, 20_000, 'the task to make progress');
  expect(during).toMatchObject({ status: 'RUNNING', failed: 0 });
  expect(during.retried).toBeLessThan(LIMIT - PER_SECOND);
  await first.kill();

  const second = await start();
  const task = await eventually(async () => {
    const t = (await second.request('GET', `/jobs/retry-tasks/${taskId}`)).body;
    return t.status === 'COMPLETED' && t;
  }, 60_000, 'the task to complete after the restart');
  expect(task).toMatchObject({ retried: LIMIT, failed: 0, total: LIMIT });

  // the counts follow the table's stream, in order: once a job enqueued after the task's end is counted, every retry
  // the task made is too; it stays delayed, so that no job pending besides it means every retried job has run
  const fence = await second.request('POST', '/jobs', { name: 'demo.echo', opts: { delay: 3_600_000 } });
  expect(fence.status).toBe(201);
  const settled = await eventually(async () => {
    const m = (await second.request('GET', '/jobs/metrics')).body;
    return m.delayed === 1 && m.waiting + m.active === 0 && m.completed + m.failed === JOBS && m;
  }, 90_000, 'every retried job to run');
  // a task that went past its limit after the restart would show here as more completed
  expect({ completed: settled.completed, failed: settled.failed }).toEqual({ completed: LIMIT, failed: JOBS - LIMIT });
  const jobs: JobView[] = [];
  for (const id of ids) jobs.push((await second.request('GET', `/jobs/details/${id}`)).body);
  const retried = jobs.filter((job) => job.retries.some((record) => record.taskId === taskId));
  const left = jobs.filter((job) => !retried.includes(job));
  expect(retried).toHaveLength(LIMIT);
  for (const job of retried) {
    // retried once (a second retry would be generation 2), by this task, no attempt run twice
    expect({ id: job.id, state: job.state, generation: job.generation, retries: job.retries.length }).toEqual({
      id: job.id,
      state: 'completed',
      generation: 1,
      retries: 1,
    });
    const runs = job.history.map((e) => `${e.generation}/${e.attempt}`);
    expect(new Set(runs).size).toBe(runs.length);
  }
  for (const job of left) {
    expect({ id: job.id, state: job.state, generation: job.generation, retries: job.retries.length }).toEqual({
      id: job.id,
      state: 'failed',
      generation: 0,
      retries: 0,
    });
  }
  // the task took the most recently failed jobs, as the listing orders them
  expect(Math.max(...left.map((job) => job.failedAt))).toBeLessThanOrEqual(Math.min(...retried.map((job) => job.failedAt)));
}, 300_000);
