import {
  ChangeMessageVisibilityBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
} from '@aws-sdk/client-sqs';
import { DynamoDbJobStore } from '../../lambda/adapters/dynamodb-job-store';
import { DynamoDbRetryTaskStore } from '../../lambda/adapters/dynamodb-retry-task-store';
import { SqsJobQueue, SqsTaskQueue } from '../../lambda/adapters/sqs-job-queue';
import type { Job } from '../../lambda/core/job';
import { resumeAbandonedTasks, runRetryTaskChunk, startRetryTask } from '../../lambda/core/run-retry-task';
import { storeFailedJob } from '../support/job-fixtures';
import { eventually, startHarness, type Harness } from '../support/requeue-harness';

let h: Harness;
let store: DynamoDbJobStore;
let seq = 0;

/** `n` failed demo.flaky jobs of `name` (each succeeds on its next execution). */
const plantFailed = async (n: number, name: string): Promise<Job[]> => {
  const jobs: Job[] = [];
  for (let i = 0; i < n; i++) jobs.push(await storeFailedJob(store, { id: `${name}-${++seq}`, name, error: 'outage' }));
  await h.caughtUp();
  return jobs;
};

/** A dead-letter copy of each job, as the main queue's redrive policy leaves it. */
const plantDeadLetterCopies = async (jobs: readonly Job[]): Promise<void> => {
  for (let i = 0; i < jobs.length; i += 10) {
    await h.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: h.deadLetterQueueUrl,
        Entries: jobs.slice(i, i + 10).map((job, j) => ({
          Id: String(j),
          MessageBody: JSON.stringify({ jobId: job.id, generation: job.generation }),
        })),
      }),
    );
  }
};

/** The copies the dead-letter queue holds, as `<jobId>@<generation>`: every message read, then released. */
const deadLetterCopies = async (): Promise<string[]> => {
  const messages: Message[] = [];
  for (;;) {
    const { Messages = [] } = await h.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: h.deadLetterQueueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 30 }),
    );
    if (Messages.length === 0) break;
    messages.push(...Messages);
  }
  for (let i = 0; i < messages.length; i += 10) {
    await h.sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: h.deadLetterQueueUrl,
        Entries: messages.slice(i, i + 10).map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0 })),
      }),
    );
  }
  return messages
    .map((m) => JSON.parse(m.Body!))
    .map((m: { jobId: string; generation: number }) => `${m.jobId}@${m.generation}`)
    .sort();
};

const untilTask = (taskId: string, done: (task: any) => boolean, timeoutMs = 20_000) =>
  eventually(async () => {
    const task = (await h.request('GET', `/jobs/retry-tasks/${taskId}`)).body;
    return done(task) && task;
  }, timeoutMs, `task ${taskId}`);

beforeAll(async () => {
  h = await startHarness();
  store = new DynamoDbJobStore({ tableName: h.tableName, retentionMs: 60_000 });
  h.startWorker();
});
afterAll(() => h.stop());

describe('retry-all as a background task', () => {
  it('answers 202 with the task, shows its progress, and retries each job once', async () => {
    const jobs = await plantFailed(25, 'demo.flaky');
    h.startTaskRunner();
    const answer = await h.request('POST', '/jobs/retry-all-failed', { name: 'demo.flaky', async: true });
    expect(answer.status).toBe(202);
    expect(answer.body).toEqual({
      message: `Retrying 25 failed job(s) in the background; follow GET /jobs/retry-tasks/${answer.body.taskId}`,
      taskId: expect.any(String),
      total: 25,
    });
    const task = await untilTask(answer.body.taskId, (t) => t.status === 'COMPLETED');
    expect(task).toMatchObject({ retried: 25, failed: 0, total: 25, startedAt: expect.any(Number), finishedAt: expect.any(Number) });
    for (const job of jobs) {
      const done = await eventually(async () => {
        const j = await store.get(job.id);
        return j?.state === 'completed' && j;
      });
      expect(done.history).toHaveLength(2);
    }
  });

  it('keeps to maxPerSecond', async () => {
    await plantFailed(30, 'rate.limited');
    h.startTaskRunner();
    const answer = await h.request('POST', '/jobs/retry-all-failed', { name: 'rate.limited', async: true, maxPerSecond: 10 });
    const task = await untilTask(answer.body.taskId, (t) => t.status === 'COMPLETED');
    // 30 jobs at 10 per second: three pages of 10, at 0 s, 1 s and 2 s
    expect(task.retried).toBe(30);
    expect(task.finishedAt - task.startedAt).toBeGreaterThanOrEqual(1900);
  });

  /**
   * A task's deps on a clock of the test's, recording the clock at each retry write; `afterRetry` may move the
   * clock on. No runner is woken: the test runs the chunks itself.
   */
  const onTestClock = (afterRetry: (retried: number, clock: { at: number }) => void = () => undefined) => {
    const clock = { at: Date.now() };
    const retriedAt: number[] = [];
    const jobStore = new DynamoDbJobStore({ tableName: h.tableName, retentionMs: 60_000 });
    const recording = new Proxy(jobStore, {
      get(target, property, receiver) {
        if (property !== 'save') return Reflect.get(target, property, receiver);
        return async (...args: Parameters<DynamoDbJobStore['save']>) => {
          if (args[0].state === 'waiting') {
            retriedAt.push(clock.at);
            afterRetry(retriedAt.length, clock);
          }
          return target.save(...args);
        };
      },
    });
    const deps = {
      store: recording,
      queue: new SqsJobQueue({ queueUrl: h.queueUrl, deadLetterQueueUrl: h.deadLetterQueueUrl }),
      tasks: new DynamoDbRetryTaskStore({ tableName: h.tableName }),
      taskQueue: { sendTask: async () => undefined },
      now: () => clock.at,
      wait: async (ms: number) => {
        clock.at += ms;
      },
    };
    /** When each page's retries were written, from the first. */
    const pageStarts = () => [...new Set(retriedAt)].map((at) => at - retriedAt[0]!);
    return { deps, pageStarts };
  };

  it('keeps to maxPerSecond across the edges of its chunks', async () => {
    // each page of 10 is due 1 s after the one before, whichever chunk retries it
    const jobs = await plantFailed(40, 'paced');
    const { deps, pageStarts } = onTestClock();
    const task = await startRetryTask(deps, { filter: { name: 'paced' }, maxPerSecond: 10 }, jobs.length);
    // a budget of 1.5 s: each chunk ends between two pages
    let chunks = 1;
    while ((await runRetryTaskChunk(deps, task.id, 1_500)) === 'continue') chunks++;
    expect(chunks).toBeGreaterThan(1);
    expect(await deps.tasks.getTask(task.id)).toMatchObject({ status: 'COMPLETED', retried: 40 });
    expect(pageStarts()).toEqual([0, 1_000, 2_000, 3_000]);
  });

  it('does not make up for a slow page with a burst over maxPerSecond', async () => {
    // the first page of 10 takes 3 s, three times its share at 10 per second
    const jobs = await plantFailed(40, 'slow.start');
    const { deps, pageStarts } = onTestClock((retried, clock) => {
      if (retried === 10) clock.at += 3_000;
    });
    const task = await startRetryTask(deps, { filter: { name: 'slow.start' }, maxPerSecond: 10 }, jobs.length);
    expect(await runRetryTaskChunk(deps, task.id, 60_000)).toBe('done');
    expect(await deps.tasks.getTask(task.id)).toMatchObject({ status: 'COMPLETED', retried: 40 });
    // without the restart of the pace the three pages after the slow one went together, at 3 s
    expect(pageStarts()).toEqual([0, 3_000, 4_000, 5_000]);
  });

  it('settles the page a killed runner left half retried, and stops at its limit', async () => {
    // pages of 10; the runner dies after the 15th retry write, in the middle of the second page
    const jobs = await plantFailed(30, 'killed.mid.page');
    const { deps } = onTestClock();
    let retries = 0;
    let dead = false;
    /** Every call fails once the runner is dead: nothing it would have done after the kill happens. */
    const mortal = <T extends object>(target: T): T =>
      new Proxy(target, {
        get(object, property, receiver) {
          const value = Reflect.get(object, property, receiver);
          if (typeof value !== 'function') return value;
          return (...args: unknown[]) => {
            if (!dead && property === 'save' && (args[0] as Job).state === 'waiting' && ++retries === 15) dead = true;
            return dead ? Promise.reject(new Error('killed')) : value.apply(object, args);
          };
        },
      });
    const dying = { ...deps, store: mortal(deps.store), queue: mortal(deps.queue), tasks: mortal(deps.tasks) };
    const task = await startRetryTask(deps, { filter: { name: 'killed.mid.page' }, limit: 22, maxPerSecond: 10 }, 22);
    await expect(runRetryTaskChunk(dying, task.id, 60_000)).rejects.toThrow('killed');
    const left = await deps.tasks.getTask(task.id);
    expect(left).toMatchObject({ status: 'RUNNING', retried: 10, failed: 0, page: { jobs: expect.any(Array) } });
    expect(left!.page!.jobs).toHaveLength(10);

    // its lease runs out; the next runner settles the recorded page first
    deps.now = () => left!.leaseUntil! + 1;
    while ((await runRetryTaskChunk(deps, task.id, 60_000)) === 'continue');
    const done = await deps.tasks.getTask(task.id);
    expect(done).toMatchObject({ status: 'COMPLETED', retried: 22, failed: 0 });
    expect(done!.page).toBeUndefined();
    const after = await Promise.all(jobs.map(async (j) => (await store.get(j.id))!));
    const byTask = after.filter((j) => j.retries.some((r) => r.taskId === task.id));
    expect(byTask).toHaveLength(22);
    for (const job of byTask) expect(job.generation).toBe(1);
    for (const job of after.filter((j) => !byTask.includes(j))) expect([job.state, job.generation]).toEqual(['failed', 0]);
  });

  it('stops when cancelled: jobs already retried stay retried, the rest stay failed', async () => {
    const jobs = await plantFailed(40, 'to.cancel');
    await plantDeadLetterCopies(jobs);
    h.startTaskRunner();
    const answer = await h.request('POST', '/jobs/retry-all-failed', { name: 'to.cancel', async: true, maxPerSecond: 5 });
    await untilTask(answer.body.taskId, (t) => t.retried >= 5);
    const cancel = await h.request('POST', `/jobs/retry-tasks/${answer.body.taskId}/cancel`);
    expect(cancel.status).toBe(200);
    expect(cancel.body.status).toBe('CANCELLING');
    const task = await untilTask(answer.body.taskId, (t) => t.status === 'CANCELLED');
    expect(task.retried).toBeGreaterThanOrEqual(5);
    expect(task.retried).toBeLessThan(40);
    const states = await Promise.all(jobs.map(async (j) => (await store.get(j.id))!));
    const stillFailed = states.filter((j) => j.state === 'failed' && j.generation === 0);
    const retried = states.filter((j) => j.generation === 1);
    expect(stillFailed.length + retried.length).toBe(40);
    expect(retried.length).toBe(task.retried);
    // the dead-letter copies of the retried jobs are cleared, those of the jobs still failed stay. The
    // sweep runs in the chunk that wrote CANCELLED: stopping the runner waits for it to end.
    await h.stopTaskRunner();
    const firstCopies = (await deadLetterCopies()).filter((copy) => copy.startsWith('to.cancel-') && copy.endsWith('@0'));
    expect(firstCopies).toEqual(stillFailed.map((j) => `${j.id}@0`).sort());
    // a finished task cannot be cancelled again
    const again = await h.request('POST', `/jobs/retry-tasks/${answer.body.taskId}/cancel`);
    expect(again).toMatchObject({
      status: 400,
      body: { error: `Retry task ${answer.body.taskId} is not running. Current status: CANCELLED`, code: 'TASK_NOT_RUNNING' },
    });
  });

  it('is resumed by the reconciler when its wake-up message was lost', async () => {
    await h.stopTaskRunner();
    await plantFailed(12, 'resumed');
    const answer = await h.request('POST', '/jobs/retry-all-failed', { name: 'resumed', async: true });
    // the runner is down: the wake-up message waits; lose it, as a crash would
    await h.sqs.send(new (await import('@aws-sdk/client-sqs')).PurgeQueueCommand({ QueueUrl: h.taskQueueUrl }));
    const tasks = new DynamoDbRetryTaskStore({ tableName: h.tableName });
    const taskQueue = new SqsTaskQueue({ taskQueueUrl: h.taskQueueUrl });
    expect(await resumeAbandonedTasks({ tasks, taskQueue, now: () => Date.now() + 1 })).toBe(1);
    h.startTaskRunner();
    const task = await untilTask(answer.body.taskId, (t) => t.status === 'COMPLETED');
    expect(task.retried).toBe(12);
  });

  it('answers 404 for an unknown task', async () => {
    const answer = await h.request('GET', '/jobs/retry-tasks/nope');
    expect(answer).toMatchObject({ status: 404, body: { error: 'Retry task nope not found', code: 'TASK_NOT_FOUND' } });
  });
});
