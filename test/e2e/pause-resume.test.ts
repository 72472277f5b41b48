import { eventually } from '../support/requeue-harness';
import { runtimesOnOneDataDir, type LocalRuntime } from '../support/local-runtime';

// POST /jobs/pause and /jobs/resume against `npm start` over HTTP: the worker's
// event source mapping (local/event-source-mapping.ts) stops and starts its
// pollers, as UpdateEventSourceMapping does on AWS, and a pause outlives a restart.

const runtimes = runtimesOnOneDataDir();

const PAUSED = 'Worker paused: jobs wait in the queue until it is resumed; jobs already running finish';
const metricsOf = async (runtime: LocalRuntime) => (await runtime.request('GET', '/jobs/metrics')).body;

it('holds jobs waiting while paused, through a restart, and runs each once after the resume', async () => {
  const first = await runtimes.start();
  // a body that is not JSON, or one with options: 400, and the worker runs on
  const notJson = await first.request('POST', '/jobs/pause', 'pause please');
  expect({ status: notJson.status, body: notJson.body }).toEqual({
    status: 400,
    body: { error: expect.stringMatching(/not valid JSON/), code: 'INVALID_JSON' },
  });
  const withOptions = await first.request('POST', '/jobs/pause', { minutes: 5 });
  expect({ status: withOptions.status, body: withOptions.body }).toEqual({
    status: 400,
    body: { error: 'POST /jobs/pause takes no options: send no body, or {}', code: 'VALIDATION_ERROR' },
  });
  expect((await metricsOf(first)).paused).toBe(false);

  const paused = await first.request('POST', '/jobs/pause');
  expect(paused.status).toBe(200);
  expect(paused.body).toEqual({ message: PAUSED, paused: true, pausedBy: 'local', pausedAt: expect.any(Number) });
  // again: nothing changes, and the answer says who paused it and when
  const again = await first.request('POST', '/jobs/pause', {});
  expect({ status: again.status, body: again.body }).toEqual({
    status: 200,
    body: {
      message: 'The worker is already paused: jobs wait in the queue until it is resumed',
      paused: true,
      pausedBy: 'local',
      pausedAt: paused.body.pausedAt,
    },
  });

  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const answer = await first.request('POST', '/jobs', { name: 'demo.echo', data: { i } });
    expect(answer.status).toBe(201);
    ids.push(answer.body.id);
  }
  // the pollers' last long polls may take a message and give it back: wait until all three are visible and
  // counted waiting (the counts follow the table's stream a moment behind), by when a worker still polling
  // would have taken them
  const held = await eventually(async () => {
    const m = await metricsOf(first);
    return m.queues.main.visible === 3 && m.waiting === 3 && m;
  }, 30_000, 'three jobs counted waiting, their messages in the queue');
  expect(held).toMatchObject({ waiting: 3, active: 0, completed: 0, paused: true, pausedBy: 'local', pausedAt: paused.body.pausedAt });
  expect(held.queues.main.visible).toBe(3);

  // bad input changes nothing
  const resumeNotJson = await first.request('POST', '/jobs/resume', '{"now": tru');
  expect({ status: resumeNotJson.status, body: resumeNotJson.body }).toEqual({
    status: 400,
    body: { error: expect.stringMatching(/not valid JSON/), code: 'INVALID_JSON' },
  });
  const options = await first.request('POST', '/jobs/resume', { after: 10 });
  expect({ status: options.status, body: options.body }).toEqual({
    status: 400,
    body: { error: 'POST /jobs/resume takes no options: send no body, or {}', code: 'VALIDATION_ERROR' },
  });
  expect((await metricsOf(first)).paused).toBe(true);
  await first.interrupt();

  const second = await runtimes.start();
  expect(second.output()).toContain('worker paused by POST /jobs/pause');
  // the start-up re-sends the three waiting jobs (the emulated SQS keeps nothing across a restart): once their
  // messages are visible in the queue, a worker that polled would have taken them
  const heldAfterRestart = await eventually(async () => {
    const m = await metricsOf(second);
    return m.queues.main.visible === 3 && m.waiting === 3 && m;
  }, 30_000, 'the three jobs re-sent and waiting in the queue');
  expect(heldAfterRestart).toMatchObject({ waiting: 3, completed: 0, paused: true, pausedBy: 'local' });

  const resumed = await second.request('POST', '/jobs/resume');
  expect({ status: resumed.status, body: resumed.body }).toEqual({
    status: 200,
    body: { message: 'Worker resumed: the jobs waiting in the queue run again', paused: false },
  });
  const resumedAgain = await second.request('POST', '/jobs/resume');
  expect(resumedAgain.body).toEqual({ message: 'The worker is already running: there is nothing to resume', paused: false });

  await eventually(async () => (await metricsOf(second)).completed === 3, 30_000, 'the three jobs to complete');
  for (const id of ids) {
    const job = (await second.request('GET', `/jobs/details/${id}`)).body;
    expect({ state: job.state, attempts: job.attempts, runs: job.history.length }).toEqual({ state: 'completed', attempts: 1, runs: 1 });
  }
  const after = await metricsOf(second);
  expect(after).toMatchObject({ waiting: 0, completed: 3, failed: 0, paused: false });
  expect(after).not.toHaveProperty('pausedBy');
}, 120_000);
