import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { eventually, startHarness, type Harness } from '../support/requeue-harness';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
  h.startWorker();
});
afterAll(() => h.stop());

const details = (id: string) => h.details(id);
const untilState = (id: string, state: string) => h.untilState(id, state);

/** Enqueue a job that fails `failTimes` executions in all, with one attempt per generation. */
const failedFlakyJob = async (failTimes = 1): Promise<string> => {
  const answer = await h.request('POST', '/jobs', { name: 'demo.flaky', data: { failTimes }, opts: { attempts: 1 } });
  await untilState(answer.body.id, 'failed');
  return answer.body.id;
};

/** Move every message of the dead-letter queue back to the main queue, as the console's redrive does. */
const redriveAll = async (): Promise<{ jobId: string; generation: number }[]> => {
  const moved = [];
  for (;;) {
    const { Messages = [] } = await h.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: h.deadLetterQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    if (Messages.length === 0) return moved;
    for (const m of Messages) {
      await h.sqs.send(new SendMessageCommand({ QueueUrl: h.queueUrl, MessageBody: m.Body! }));
      await h.sqs.send(new DeleteMessageCommand({ QueueUrl: h.deadLetterQueueUrl, ReceiptHandle: m.ReceiptHandle }));
      moved.push(JSON.parse(m.Body!));
    }
  }
};

describe('POST /jobs/retry/:jobId', () => {
  it('answers 404 for an unknown job', async () => {
    const answer = await h.request('POST', '/jobs/retry/nope-123');
    expect(answer.status).toBe(404);
    expect(answer.body).toEqual({ error: 'Job nope-123 not found', code: 'JOB_NOT_FOUND' });
  });

  it('answers 400 for a job that is not failed', async () => {
    const { body } = await h.request('POST', '/jobs', { name: 'demo.echo' });
    await untilState(body.id, 'completed');
    const answer = await h.request('POST', `/jobs/retry/${body.id}`);
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({
      error: `Job ${body.id} is not in failed state. Current state: completed`,
      code: 'JOB_NOT_FAILED',
    });
  });

  it('queues a failed job again with attempts reset; it runs once more', async () => {
    const id = await failedFlakyJob();
    const answer = await h.request('POST', `/jobs/retry/${id}`);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ message: `Job '${id}' has been queued for retry`, jobId: id });
    const job = await untilState(id, 'completed');
    expect(job).toMatchObject({ attempts: 1, generation: 1 });
    expect(job.retries).toEqual([{ at: expect.any(Number), source: 'api', generation: 1, by: 'local' }]);
    // the retry cleared the job's stale dead-letter copy
    const { Messages = [] } = await h.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: h.deadLetterQueueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }),
    );
    expect(Messages.map((m) => JSON.parse(m.Body!).jobId)).not.toContain(id);
    expect(job.history.map((e: { generation: number; outcome: string }) => [e.generation, e.outcome])).toEqual([
      [0, 'failed'],
      [1, 'completed'],
    ]);
  });

  it('lets exactly one of 50 concurrent retries of one job through', async () => {
    const id = await failedFlakyJob();
    const answers = await Promise.all(Array.from({ length: 50 }, () => h.request('POST', `/jobs/retry/${id}`)));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    const refused = answers.filter((a) => a.status === 400);
    expect(refused).toHaveLength(49);
    for (const a of refused) expect(a.body.error).toMatch(new RegExp(`^Job ${id} is not in failed state. Current state: (waiting|active|completed)$`));
    const job = await untilState(id, 'completed');
    expect(job.history).toHaveLength(2);
    expect(job.retries).toHaveLength(1);
  });
});

describe('POST /jobs/retry-all-failed', () => {
  it('retries every failed job and answers the counts; each runs once', async () => {
    // jobs failed by the tests above are in the same table: retry them all here too
    const ids = await Promise.all(Array.from({ length: 5 }, () => failedFlakyJob()));
    const before = (await h.request('GET', '/jobs/metrics')).body;
    const answer = await h.request('POST', '/jobs/retry-all-failed');
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      message: 'Retry operation complete',
      retriedCount: before.failed,
      failedCount: 0,
      total: before.failed,
    });
    for (const id of ids) {
      const job = await untilState(id, 'completed');
      expect(job.history).toHaveLength(2);
    }
    const after = (await h.request('GET', '/jobs/metrics')).body;
    expect(after.failed).toBe(0);
    expect(after.completed).toBe(before.completed + before.failed);
  });
});

describe('two retry-alls at once', () => {
  it('retry each of 20 failed jobs once between them, and each runs once', async () => {
    await h.request('POST', '/jobs/retry-all-failed'); // start from no failed job
    const ids = await Promise.all(Array.from({ length: 20 }, () => failedFlakyJob()));
    const [a, b] = await Promise.all([
      h.request('POST', '/jobs/retry-all-failed'),
      h.request('POST', '/jobs/retry-all-failed'),
    ]);
    expect(a.body.retriedCount + b.body.retriedCount).toBe(20);
    for (const id of ids) {
      const job = await untilState(id, 'completed');
      expect(job.retries).toHaveLength(1);
      expect(job.history.map((e: { generation: number }) => e.generation)).toEqual([0, 1]);
    }
  });
});

describe('a redrive of the dead-letter queue (what the AWS console does)', () => {
  it('runs a still-failed job as a retry, once', async () => {
    await redriveAll(); // copies left by earlier tests are stale: their jobs were retried
    const id = await failedFlakyJob();
    const copies = await eventually(async () => {
      const moved = await redriveAll();
      return moved.length > 0 && moved;
    });
    expect(copies).toEqual([{ jobId: id, generation: 0, deadLettered: true }]);
    const job = await untilState(id, 'completed');
    expect(job).toMatchObject({ attempts: 1, generation: 1 });
    expect(job.retries).toEqual([{ at: expect.any(Number), source: 'redrive', generation: 1 }]);
    expect(job.history).toHaveLength(2);
  });

  it('drops a dead-letter copy of a job that was retried already', async () => {
    const id = await failedFlakyJob(2);
    // keep the generation-0 copy aside (a retry clears the stale copies it comes across)
    const [stale] = await eventually(async () => {
      const { Messages = [] } = await h.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: h.deadLetterQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
      );
      for (const m of Messages) {
        await h.sqs.send(new DeleteMessageCommand({ QueueUrl: h.deadLetterQueueUrl, ReceiptHandle: m.ReceiptHandle }));
      }
      return Messages.length > 0 && Messages.map((m) => m.Body!);
    });
    expect(JSON.parse(stale)).toEqual({ jobId: id, generation: 0, deadLettered: true });
    expect((await h.request('POST', `/jobs/retry/${id}`)).status).toBe(200);
    await untilState(id, 'failed'); // failTimes 2: the retry fails too, generation 1
    // now move both back: generation 0 (stale) and 1 (current)
    await h.sqs.send(new SendMessageCommand({ QueueUrl: h.queueUrl, MessageBody: stale }));
    const moved = await eventually(async () => {
      const m = await redriveAll();
      return m.length > 0 && m;
    });
    expect(moved.map((m) => m.generation)).toEqual([1]);
    const job = await untilState(id, 'completed');
    expect(job.generation).toBe(2);
    expect(job.history.map((e: { generation: number }) => e.generation)).toEqual([0, 1, 2]);
  });
});
