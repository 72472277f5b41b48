import { eventually } from '../support/requeue-harness';
import { runtimesOnOneDataDir } from '../support/local-runtime';

// REQUEUE_WORKER_CONCURRENCY=0 pauses the worker, as disabling the event source
// mapping does on AWS: jobs are accepted and wait; a start with pollers runs them.

const runtimes = runtimesOnOneDataDir();

it('accepts jobs with the worker paused and runs them once it is back', async () => {
  const paused = await runtimes.start({ env: { REQUEUE_WORKER_CONCURRENCY: '0' } });
  expect(paused.output()).toContain('worker paused');
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const answer = await paused.request('POST', '/jobs', { name: 'demo.echo', data: { i } });
    expect(answer.status).toBe(201);
    ids.push(answer.body.id);
  }
  // all three counted waiting (the counts follow the table's stream a moment behind) with their messages still
  // visible in the queue: a worker that polled would have taken them by then
  const waiting = await eventually(async () => {
    const m = (await paused.request('GET', '/jobs/metrics')).body;
    return m.waiting === 3 && m.queues.main.visible === 3 && m;
  }, 20_000, 'three jobs counted waiting, their messages in the queue');
  expect({ waiting: waiting.waiting, completed: waiting.completed, paused: waiting.paused }).toEqual({ waiting: 3, completed: 0, paused: true });
  // paused by a setting, not through the API: no one to name
  expect(waiting).not.toHaveProperty('pausedBy');
  expect(waiting.queues.main.visible).toBe(3);
  await paused.interrupt();

  const running = await runtimes.start();
  expect(running.output()).not.toContain('worker paused');
  expect((await running.request('GET', '/jobs/metrics')).body.paused).toBe(false);
  await eventually(async () => (await running.request('GET', '/jobs/metrics')).body.completed === 3, 20_000, 'the jobs to run');
  for (const id of ids) {
    const job = (await running.request('GET', `/jobs/details/${id}`)).body;
    expect({ state: job.state, attempts: job.attempts, runs: job.history.length }).toEqual({ state: 'completed', attempts: 1, runs: 1 });
  }
}, 60_000);
