import { startHarness, type Harness } from '../support/requeue-harness';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
  h.startWorker();
});
afterAll(() => h.stop());

const HOUR = 3_600_000;

describe('POST /jobs/promote/:jobId', () => {
  it('runs a job delayed for an hour at once, and once', async () => {
    const { body } = await h.request('POST', '/jobs', { name: 'demo.echo', data: 'now', opts: { delay: HOUR } });
    expect((await h.details(body.id)).state).toBe('delayed');
    const answer = await h.request('POST', `/jobs/promote/${body.id}`);
    expect(answer).toMatchObject({ status: 200, body: { message: `Job '${body.id}' has been promoted`, jobId: body.id } });
    const job = await h.untilState(body.id, 'completed');
    expect(job.history).toHaveLength(1);
    expect(job.returnValue).toBe('now');
    expect(await h.request('GET', '/jobs/metrics')).toMatchObject({ body: { delayed: 0, waiting: 0 } });
  });

  it('runs a job waiting out its backoff at once, as its next attempt', async () => {
    const { body } = await h.request('POST', '/jobs', {
      name: 'demo.flaky',
      data: { failTimes: 1 },
      opts: { attempts: 2, backoff: { type: 'fixed', delay: HOUR } },
    });
    await h.untilState(body.id, 'delayed');
    expect((await h.request('POST', `/jobs/promote/${body.id}`)).status).toBe(200);
    const job = await h.untilState(body.id, 'completed');
    expect(job.history.map((e: { attempt: number }) => e.attempt)).toEqual([1, 2]);
  });

  it('answers 404 for an unknown job, and 400 for one that is not delayed', async () => {
    expect(await h.request('POST', '/jobs/promote/nope-3')).toMatchObject({
      status: 404,
      body: { error: 'Job nope-3 not found', code: 'JOB_NOT_FOUND' },
    });
    const { body } = await h.request('POST', '/jobs', { name: 'demo.echo' });
    await h.untilState(body.id, 'completed');
    expect(await h.request('POST', `/jobs/promote/${body.id}`)).toMatchObject({
      status: 400,
      body: { error: `Job ${body.id} is not delayed. Current state: completed`, code: 'JOB_NOT_DELAYED' },
    });
    expect((await h.request('POST', '/jobs/promote/..%2F')).status).toBe(400);
  });

  it('of 10 concurrent promotions of one job, one wins and the job runs once', async () => {
    const { body } = await h.request('POST', '/jobs', { name: 'demo.echo', opts: { delay: HOUR } });
    const answers = await Promise.all(Array.from({ length: 10 }, () => h.request('POST', `/jobs/promote/${body.id}`)));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    for (const a of answers.filter((a) => a.status !== 200)) expect(a.body.code).toBe('JOB_NOT_DELAYED');
    const job = await h.untilState(body.id, 'completed');
    expect(job.history).toHaveLength(1);
  });
});
