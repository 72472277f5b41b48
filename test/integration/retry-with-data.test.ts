import { BUDGETS } from '../../lambda/core/limits';
import { startHarness, type Harness } from '../support/requeue-harness';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
  h.startWorker();
});
afterAll(() => h.stop());

/** A demo.flaky job that fails its one attempt, and would fail 9 more executions as it is. */
const failedJob = async (): Promise<string> => {
  const answer = await h.request('POST', '/jobs', { name: 'demo.flaky', data: { failTimes: 10 }, opts: { attempts: 1 } });
  await h.untilState(answer.body.id, 'failed');
  return answer.body.id;
};

describe('POST /jobs/retry/:jobId with {"data": ...}', () => {
  it('runs the job once more, with the new data, and its retries say the data changed and when', async () => {
    const id = await failedJob();
    const before = Date.now();
    const answer = await h.request('POST', `/jobs/retry/${id}`, { data: { failTimes: 1 } });
    expect(answer).toMatchObject({ status: 200, body: { message: `Job '${id}' has been queued for retry`, jobId: id } });
    const job = await h.untilState(id, 'completed');
    expect(job.data).toEqual({ failTimes: 1 });
    expect(job.returnValue).toEqual({ executions: 2 });
    expect(job.history.map((e: { generation: number; outcome: string }) => [e.generation, e.outcome])).toEqual([
      [0, 'failed'],
      [1, 'completed'],
    ]);
    expect(job.retries).toHaveLength(1);
    expect(job.retries[0]).toMatchObject({ source: 'api', generation: 1, dataChanged: true, by: 'local' });
    expect(job.retries[0].at).toBeGreaterThanOrEqual(before);
  });

  it('keeps the data, and says nothing changed, without a body', async () => {
    const id = await failedJob();
    expect((await h.request('POST', `/jobs/retry/${id}`)).status).toBe(200);
    const job = await h.untilState(id, 'failed');
    expect(job.data).toEqual({ failTimes: 10 });
    expect(job.retries[0].dataChanged).toBeUndefined();
  });

  it('takes null as new data', async () => {
    const id = await failedJob();
    expect((await h.request('POST', `/jobs/retry/${id}`, { data: null })).status).toBe(200);
    // demo.flaky fails once without failTimes: the second execution completes
    const job = await h.untilState(id, 'completed');
    expect(job.data).toBeNull();
  });

  it.each([
    ['data past its budget', { data: 'x'.repeat(BUDGETS.dataBytes) }, 413, 'PAYLOAD_TOO_LARGE'],
    ['an unknown field', { data: 1, opts: { attempts: 5 } }, 400, 'VALIDATION_ERROR'],
    ['a body without data', {}, 400, 'VALIDATION_ERROR'],
    ['a body that is not an object', [1], 400, 'VALIDATION_ERROR'],
    ['a number JSON cannot keep', '{"data": 1e400}', 400, 'VALIDATION_ERROR'],
    ['nesting past 64 levels', `{"data": ${'['.repeat(70)}${']'.repeat(70)}}`, 400, 'VALIDATION_ERROR'],
    ['text that is not JSON', '{"data": ', 400, 'INVALID_JSON'],
  ])('refuses %s and leaves the job failed, as it was', async (_, body, status, code) => {
    const id = await failedJob();
    const before = await h.details(id);
    const answer = await h.request('POST', `/jobs/retry/${id}`, body);
    expect(answer.status).toBe(status);
    expect(answer.body).toEqual({ error: expect.any(String), code });
    expect(await h.details(id)).toEqual(before);
  });

  it('answers 404 for an unknown job and 400 for one not failed, with data or without', async () => {
    expect((await h.request('POST', '/jobs/retry/nope-7', { data: 1 })).status).toBe(404);
    const { body } = await h.request('POST', '/jobs', { name: 'demo.echo', data: 'kept' });
    await h.untilState(body.id, 'completed');
    const answer = await h.request('POST', `/jobs/retry/${body.id}`, { data: 'new' });
    expect(answer).toMatchObject({ status: 400, body: { code: 'JOB_NOT_FAILED' } });
    expect((await h.details(body.id)).data).toBe('kept');
  });

  it('of 20 concurrent retries with different data, one wins and the job runs once, with its data', async () => {
    const id = await failedJob();
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => h.request('POST', `/jobs/retry/${id}`, { data: { failTimes: 1, n: i } })),
    );
    const winners = answers.map((a, i) => [a.status, i] as const).filter(([status]) => status === 200);
    expect(winners).toHaveLength(1);
    const job = await h.untilState(id, 'completed');
    expect(job.data).toEqual({ failTimes: 1, n: winners[0]![1] });
    expect(job.history).toHaveLength(2);
  });
});
