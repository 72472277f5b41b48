import { startHarness, type Harness } from '../support/requeue-harness';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.stop());

describe('GET /jobs/retry-tasks', () => {
  it('lists retry and remove tasks, newest first, page by page', async () => {
    const started: string[] = [];
    for (const route of ['retry-all-failed', 'remove-all-failed', 'retry-all-failed']) {
      const answer = await h.request('POST', `/jobs/${route}`, { async: true, name: `job.${started.length}` });
      expect(answer.status).toBe(202);
      started.push(answer.body.taskId);
    }
    const first = await h.request('GET', '/jobs/retry-tasks?limit=2');
    expect(first.status).toBe(200);
    expect(first.body.map((t: { taskId: string }) => t.taskId)).toEqual([started[2], started[1]]);
    expect(first.body[0]).toMatchObject({ kind: 'retry', status: 'RUNNING', retried: 0, failed: 0, total: 0, filter: { name: 'job.2' }, by: 'local' });
    expect(first.body[1]).toMatchObject({ kind: 'remove', removed: 0, filter: { name: 'job.1' } });
    const cursor = first.headers.get('x-next-cursor');
    expect(cursor).toBeTruthy();
    const second = await h.request('GET', `/jobs/retry-tasks?limit=2&cursor=${cursor}`);
    expect(second.body.map((t: { taskId: string }) => t.taskId)).toEqual([started[0]]);
    expect(second.headers.get('x-next-cursor')).toBeNull();
    // a cancel shows in the listing too
    await h.request('POST', `/jobs/retry-tasks/${started[0]}/cancel`);
    const all = await h.request('GET', '/jobs/retry-tasks');
    expect(all.body.find((t: { taskId: string }) => t.taskId === started[0]).status).toBe('CANCELLING');
  });

  it.each([
    ['a bad limit', '?limit=0'],
    ['a limit past 1000', '?limit=1001'],
    ['a cursor that is not one', '?cursor=bm90LWEtY3Vyc29y'],
    ['an unknown parameter', '?status=RUNNING'],
  ])('refuses %s with 400', async (_, query) => {
    const answer = await h.request('GET', `/jobs/retry-tasks${query}`);
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ error: expect.any(String), code: 'VALIDATION_ERROR' });
  });
});
