import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { DynamoDbJobStore } from '../../lambda/adapters/dynamodb-job-store';
import { JobNotFoundError, StateConflictError } from '../../lambda/core/errors';
import { claimRetry } from '../../lambda/core/retry-failed-job';
import { removeAsRead } from '../../lambda/core/remove-job';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { createDynamoDbClient } from '../../lambda/adapters/aws-clients';
import { claim, createJob, isClaimRefusal, moveAfterFailure } from '../../lambda/core/transitions';
import { storeFailedJob } from '../support/job-fixtures';
import { eventually, startHarness, type Harness } from '../support/requeue-harness';

let h: Harness;
let store: DynamoDbJobStore;

beforeAll(async () => {
  h = await startHarness();
  store = new DynamoDbJobStore({ tableName: h.tableName, retentionMs: 60_000 });
  // running throughout: a poller stopped and started again may leave a message in flight for a visibility timeout
  h.startWorker();
  h.startTaskRunner();
});
afterAll(() => h.stop());

const metrics = async () => (await h.request('GET', '/jobs/metrics')).body;
const failedIds = async (query = '') => ((await h.request('GET', `/jobs/failed?limit=1000${query}`)).body as { id: string }[]).map((j) => j.id);

let seq = 0;
/** Failed jobs written straight to the store, as the worker leaves them (their dead-letter copies aside). */
const failedJobs = async (count: number, error = 'boom', name = 'demo.fail'): Promise<string[]> => {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const job = await storeFailedJob(store, { id: `removal-${++seq}`, name, data: { message: error }, error });
    ids.push(job.id);
  }
  await h.caughtUp();
  return ids;
};

/** A waiting job with no message: nothing runs it unless the test does. */
const waitingJob = async (): Promise<string> => {
  const job = createJob({ id: `waiting-${++seq}`, name: 'demo.echo', data: null, opts: { attempts: 1, backoff: { type: 'fixed', delay: 0 }, delay: 0 } }, Date.now());
  await store.create(job);
  await h.caughtUp();
  return job.id;
};

/** Move every message of the dead-letter queue back to the main queue, as the console's redrive does. */
const redriveAll = async (): Promise<number> => {
  let moved = 0;
  for (;;) {
    const { Messages = [] } = await h.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: h.deadLetterQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    if (Messages.length === 0) return moved;
    for (const m of Messages) {
      await h.sqs.send(new SendMessageCommand({ QueueUrl: h.queueUrl, MessageBody: m.Body! }));
      await h.sqs.send(new DeleteMessageCommand({ QueueUrl: h.deadLetterQueueUrl, ReceiptHandle: m.ReceiptHandle }));
      moved++;
    }
  }
};

describe('DELETE /jobs/:jobId', () => {
  it('answers 404 for an unknown job and 400 for a bad id', async () => {
    expect(await h.request('DELETE', '/jobs/nope-1')).toMatchObject({
      status: 404,
      body: { error: 'Job nope-1 not found', code: 'JOB_NOT_FOUND' },
    });
    const bad = await h.request('DELETE', `/jobs/${'x'.repeat(129)}`);
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('VALIDATION_ERROR');
  });

  it('removes a failed job: no count, no listing, and a redrive of its dead-letter copy never brings it back', async () => {
    const id = (await h.request('POST', '/jobs', { name: 'demo.fail', opts: { attempts: 1 } })).body.id;
    await h.untilState(id, 'failed');
    const before = await metrics();
    const answer = await h.request('DELETE', `/jobs/${id}`);
    expect(answer).toMatchObject({ status: 200, body: { message: `Job '${id}' has been removed`, jobId: id } });
    expect((await h.request('GET', `/jobs/details/${id}`)).status).toBe(404);
    expect(await failedIds()).not.toContain(id);
    expect(await failedIds('&name=demo.fail')).not.toContain(id);
    const after = await metrics();
    expect(after.failed).toBe(before.failed - 1);
    expect(after.total).toBe(before.total - 1);

    // the copy moved back to the main queue is dropped: nothing is created or run
    expect(await redriveAll()).toBeGreaterThan(0);
    await eventually(async () => {
      const { main } = (await metrics()).queues;
      return main.visible + main.inFlight === 0;
    }, 10_000, 'the redriven copy to be dropped');
    expect((await h.request('GET', `/jobs/details/${id}`)).status).toBe(404);
    expect(await metrics()).toMatchObject({ failed: after.failed, waiting: 0, active: 0, total: after.total });
  });

  it('removes a waiting, a delayed and a completed job, and their counts with them', async () => {
    const waiting = await waitingJob();
    const delayed = (await h.request('POST', '/jobs', { name: 'demo.echo', opts: { delay: 3_600_000 } })).body.id;
    const before = await metrics();
    expect(before).toMatchObject({ waiting: 1, delayed: 1 });
    expect((await h.request('DELETE', `/jobs/${waiting}`)).status).toBe(200);
    expect((await h.request('DELETE', `/jobs/${delayed}`)).status).toBe(200);
    expect(await metrics()).toMatchObject({ waiting: 0, delayed: 0, total: before.total - 2 });
    const completed = (await h.request('POST', '/jobs', { name: 'demo.echo' })).body.id;
    await h.untilState(completed, 'completed');
    const done = (await metrics()).completed;
    expect((await h.request('DELETE', `/jobs/${completed}`)).status).toBe(200);
    expect((await metrics()).completed).toBe(done - 1);
    expect((await h.request('DELETE', `/jobs/${waiting}`)).status).toBe(404);
  });

  it("takes a failed job's stack item with it, and a failed job's stack expires with its retention", async () => {
    const job = createJob({ id: `stacked-${++seq}`, name: 'demo.fail', data: null, opts: { attempts: 1, backoff: { type: 'fixed', delay: 0 }, delay: 0 } }, Date.now());
    await store.create(job);
    const active = claim(job, 0, Date.now(), 30_000);
    if (isClaimRefusal(active)) throw new Error(active.reason);
    await store.save(active.next, active.expect);
    const failed = moveAfterFailure(active.next, Date.now(), Date.now(), { message: 'boom', stack: 'Error: boom\n    at run' });
    await store.save(failed.next, failed.expect);
    const doc = DynamoDBDocumentClient.from(createDynamoDbClient());
    const stackItem = async () =>
      (await doc.send(new GetCommand({ TableName: h.tableName, Key: { pk: `JOB#${job.id}`, sk: 'STACK' }, ConsistentRead: true }))).Item;
    const stored = await stackItem();
    expect(stored?.stacktrace).toBe('Error: boom\n    at run');
    // 30 days (the default retention) from the failure, give or take the test's own time
    expect(stored?.expiresAt).toBeGreaterThan((Date.now() + 29 * 24 * 3600_000) / 1000);
    expect((await h.request('DELETE', `/jobs/${job.id}`)).status).toBe(200);
    expect(await stackItem()).toBeUndefined();
  });

  it('refuses an active job with 400 and leaves it to finish', async () => {
    const id = (await h.request('POST', '/jobs', { name: 'demo.sleep', data: { ms: 1_500 } })).body.id;
    await h.untilState(id, 'active');
    expect(await h.request('DELETE', `/jobs/${id}`)).toMatchObject({
      status: 400,
      body: { error: `Job ${id} is active and cannot be removed`, code: 'JOB_ACTIVE' },
    });
    await h.untilState(id, 'completed');
  });

  // each race in both orders, both writers having read the job before either wrote: the second must lose
  it('of a removal and a retry of one failed job as read, exactly one wins, whichever writes first', async () => {
    const [first, second] = await failedJobs(2);
    const retried = (await store.get(first!))!;
    await claimRetry(store, retried, Date.now(), 'api');
    await expect(removeAsRead(store, retried)).rejects.toThrow(StateConflictError);
    expect(await store.get(first!)).toMatchObject({ state: 'waiting', generation: 1 });

    const removed = (await store.get(second!))!;
    await removeAsRead(store, removed);
    await expect(claimRetry(store, removed, Date.now(), 'api')).rejects.toThrow(JobNotFoundError);
    expect(await store.get(second!)).toBeUndefined();
    await h.caughtUp();
  });

  it('racing retries over HTTP, each job ends removed and never run, or retried and run once', async () => {
    const ids = await failedJobs(10);
    const answers = await Promise.all(
      ids.map((id) => Promise.all([h.request('DELETE', `/jobs/${id}`), h.request('POST', `/jobs/retry/${id}`)])),
    );
    for (const [i, id] of ids.entries()) {
      const [removal, retry] = answers[i];
      expect([200, 400, 404, 409]).toContain(removal.status);
      expect([200, 404]).toContain(retry.status);
      if (retry.status === 404) expect(removal.status).toBe(200);
      const job = await h.request('GET', `/jobs/details/${id}`);
      if (job.status === 404) {
        expect(removal.status).toBe(200);
      } else {
        expect(retry.status).toBe(200);
        const ran = await h.untilState(id, 'failed');
        expect(ran.history.filter((e: { generation: number }) => e.generation === 1)).toHaveLength(1);
      }
    }
  });

  it('of a removal and the worker claiming one waiting job, exactly one wins, whichever writes first', async () => {
    const claimedFirst = (await store.get(await waitingJob()))!;
    expect(await store.claim(claimedFirst.id, 0, Date.now(), 30_000)).toMatchObject({ state: 'active' });
    await expect(removeAsRead(store, claimedFirst)).rejects.toThrow(StateConflictError);
    expect(await store.get(claimedFirst.id)).toMatchObject({ state: 'active', attempts: 1 });
    // and over HTTP: the removal reads it active
    expect((await h.request('DELETE', `/jobs/${claimedFirst.id}`)).status).toBe(400);

    const removedFirst = (await store.get(await waitingJob()))!;
    await removeAsRead(store, removedFirst);
    expect(await store.claim(removedFirst.id, 0, Date.now(), 30_000)).toBeUndefined();
    expect(await store.get(removedFirst.id)).toBeUndefined();
    await h.caughtUp();
  });
});

describe('POST /jobs/remove-all-failed', () => {
  const seed = async () => {
    const both = await h.request('POST', '/jobs/remove-all-failed', { async: false });
    expect(both.status).toBe(200);
    const timeouts = await failedJobs(3, 'ETIMEDOUT calling the bank');
    const others = await failedJobs(2, 'card declined');
    return { timeouts, others };
  };

  it('counts without removing on a dry run', async () => {
    const { timeouts, others } = await seed();
    const answer = await h.request('POST', '/jobs/remove-all-failed', { dryRun: true });
    expect(answer).toMatchObject({ status: 200, body: { dryRun: true, removedCount: 0, total: 5 } });
    expect((await failedIds()).sort()).toEqual([...timeouts, ...others].sort());
  });

  it('removes the failed jobs a filter takes, up to limit, and leaves the rest', async () => {
    const { timeouts, others } = await seed();
    const before = await metrics();
    const answer = await h.request('POST', '/jobs/remove-all-failed?error=etimedout', { limit: 2 });
    expect(answer).toMatchObject({ status: 200, body: { message: 'Remove operation complete', removedCount: 2, total: 2 } });
    const left = await failedIds();
    expect(left.filter((id) => timeouts.includes(id))).toHaveLength(1);
    expect(left.filter((id) => others.includes(id)).sort()).toEqual([...others].sort());
    expect((await metrics()).failed).toBe(before.failed - 2);
  });

  it('removes every failed job as a background task, and the task says how many', async () => {
    await seed();
    const started = await h.request('POST', '/jobs/remove-all-failed', { async: true });
    expect(started).toMatchObject({ status: 202, body: { total: 5 } });
    const task = await eventually(async () => {
      const t = await h.request('GET', `/jobs/retry-tasks/${started.body.taskId}`);
      return t.body.status === 'COMPLETED' && t.body;
    }, 20_000, 'the remove task to complete');
    expect(task).toMatchObject({ kind: 'remove', removed: 5, failed: 0, total: 5 });
    expect(task.retried).toBeUndefined();
    expect(await failedIds()).toEqual([]);
    expect((await metrics()).failed).toBe(0);
  });

  it.each([
    ['a bad filter', '?since=yesterday', undefined],
    ['an unknown field', '', { state: 'failed' }],
    ['a limit of 0', '', { limit: 0 }],
    ['a body that is not an object', '', [1]],
  ])('refuses %s with 400 and removes nothing', async (_, query, body) => {
    const { timeouts, others } = await seed();
    const answer = await h.request('POST', `/jobs/remove-all-failed${query}`, body);
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ error: expect.any(String), code: 'VALIDATION_ERROR' });
    expect((await failedIds()).sort()).toEqual([...timeouts, ...others].sort());
  });
});
