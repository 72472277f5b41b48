import { eventually } from '../support/requeue-harness';
import { runtimesOnOneDataDir } from '../support/local-runtime';

// A background retry-all caught by a SIGKILL goes on after a restart on the
// same data, from its last saved page: every job retried once, none twice.

const { start } = runtimesOnOneDataDir({ REQUEUE_VISIBILITY_TIMEOUT: '4' });

const JOBS = 150;
const PER_SECOND = 30;

it('resumes a retry task after a kill -9, retrying each job exactly once', async () => {
  const first = await start();
  const ids: string[] = [];
  for (let i = 0; i < JOBS; i++) {
    // fails both attempts of its first run, succeeds when retried (even if the kill costs it an attempt)
    const answer = await first.request('POST', '/jobs', { name: 'demo.flaky', data: { failTimes: 2 }, opts: { attempts: 2 } });
    ids.push(answer.body.id);
  }
  await eventually(async () => (await first.request('GET', '/jobs/metrics')).body.failed === JOBS, 30_000, 'every job to fail');

  const answer = await first.request('POST', '/jobs/retry-all-failed', { async: true, maxPerSecond: PER_SECOND });
  expect(answer.status).toBe(202);
  const { taskId } = answer.body;
  const during = await eventually(async () => {
    const task = (await first.request('GET', `/jobs/retry-tasks/${taskId}`)).body;
    return task.retried >= PER_SECOND && task;
  }, 20_000, 'the task to make progress');
  expect(during.status).toBe('RUNNING');
  expect(during.retried).toBeLessThan(JOBS);
  await first.kill();

  const second = await start();
  const task = await eventually(async () => {
    const t = (await second.request('GET', `/jobs/retry-tasks/${taskId}`)).body;
    return t.status === 'COMPLETED' && t;
  }, 60_000, 'the task to complete after the restart');
  // a page retried after the last checkpoint is not counted again, so at most one page short
  expect(task.retried).toBeLessThanOrEqual(JOBS);
  expect(task.retried).toBeGreaterThanOrEqual(JOBS - PER_SECOND);

  await eventually(async () => (await second.request('GET', '/jobs/metrics')).body.completed === JOBS, 90_000, 'every job to complete');
  for (const id of ids) {
    const job = (await second.request('GET', `/jobs/details/${id}`)).body;
    // retried once (a second retry would be generation 2), no attempt run twice
    expect({ id, state: job.state, generation: job.generation }).toEqual({ id, state: 'completed', generation: 1 });
    const runs = job.history.map((e: { generation: number; attempt: number }) => `${e.generation}/${e.attempt}`);
    expect(new Set(runs).size).toBe(runs.length);
  }
}, 240_000);
