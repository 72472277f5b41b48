import { eventually, startHarness, type Harness } from '../support/requeue-harness';

// The pause routes on the real handlers, dynalite, fauxqs and the local Lambda
// API, with the worker's pollers behind its mapping: a job running when the
// worker is paused finishes, the mapping takes no change until it has, and a
// job enqueued meanwhile waits for the resume.

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
  h.startWorker();
});
afterAll(() => h.stop());

it('lets the running job finish, answers 409 until then, and runs what waited once resumed', async () => {
  const running = await h.request('POST', '/jobs', { name: 'demo.sleep', data: { ms: 1_500 } });
  await h.untilState(running.body.id, 'active', 20_000);

  const paused = await h.request('POST', '/jobs/pause');
  expect(paused.status).toBe(200);
  expect(paused.body).toMatchObject({ paused: true, pausedBy: 'local' });
  // the mapping is Disabling while the job runs: Lambda takes no change then
  const early = await h.request('POST', '/jobs/resume');
  expect({ status: early.status, body: early.body }).toEqual({
    status: 409,
    body: { error: expect.stringMatching(/changing state.*try again in a few seconds/), code: 'WORKER_SWITCH_BUSY' },
  });

  const waiting = await h.request('POST', '/jobs', { name: 'demo.echo', data: { n: 1 } });
  expect(waiting.status).toBe(201);
  await h.untilState(running.body.id, 'completed', 20_000);
  expect((await h.request('GET', '/jobs/metrics')).body).toMatchObject({ paused: true, waiting: 1 });
  expect((await h.details(waiting.body.id)).state).toBe('waiting');

  // Disabled once the job is done: the resume now goes through
  const resumed = await eventually(
    async () => {
      const answer = await h.request('POST', '/jobs/resume');
      return answer.status !== 409 && answer;
    },
    20_000,
    'the mapping to take the resume',
  );
  expect(resumed.body).toEqual({ message: 'Worker resumed: the jobs waiting in the queue run again', paused: false });
  const done = await h.untilState(waiting.body.id, 'completed', 20_000);
  expect({ attempts: done.attempts, runs: done.history.length }).toEqual({ attempts: 1, runs: 1 });
  expect((await h.request('GET', '/jobs/metrics')).body).toMatchObject({ paused: false, completed: 2 });
}, 60_000);
