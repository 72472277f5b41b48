import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { eventually, startHarness, type Harness } from '../support/requeue-harness';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
  h.startWorker();
});
afterAll(() => h.stop());

const enqueue = async (body: unknown): Promise<string> => {
  const answer = await h.request('POST', '/jobs', body);
  expect(answer.status).toBe(201);
  return answer.body.id;
};

const details = (id: string) => h.details(id);
const untilState = (id: string, state: string) => h.untilState(id, state);

/** Receive every message now visible in the dead-letter queue (and delete them). */
const drainDeadLetters = async (): Promise<{ jobId: string; generation: number; deadLettered?: boolean }[]> => {
  const bodies = [];
  for (;;) {
    const { Messages = [] } = await h.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: h.deadLetterQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    if (Messages.length === 0) return bodies;
    for (const m of Messages) {
      bodies.push(JSON.parse(m.Body!));
      await h.sqs.send(new DeleteMessageCommand({ QueueUrl: h.deadLetterQueueUrl, ReceiptHandle: m.ReceiptHandle }));
    }
  }
};

describe('a job through the worker', () => {
  it('runs a job to completion and records what it returned', async () => {
    const answer = await h.request('POST', '/jobs', { name: 'demo.echo', data: { hello: 'world' } });
    expect(answer.body).toEqual({ id: expect.any(String), name: 'demo.echo', state: 'waiting' });
    const job = await untilState(answer.body.id, 'completed');
    expect(job).toMatchObject({ attempts: 1, returnValue: { hello: 'world' }, error: null });
    expect(job.history).toEqual([
      { generation: 0, attempt: 1, start: expect.any(Number), end: expect.any(Number), outcome: 'completed' },
    ]);
  });

  it('fails a job that uses up its attempts, keeps its error and history, and dead-letters its message', async () => {
    const id = await enqueue({
      name: 'demo.fail',
      data: { message: 'card declined' },
      opts: { attempts: 2, backoff: { type: 'fixed', delay: 0 } },
    });
    const job = await untilState(id, 'failed');
    expect(job).toMatchObject({ attempts: 2, maxAttempts: 2, error: 'card declined', failedAt: expect.any(Number) });
    expect(job.stacktrace).toContain('card declined');
    expect(job.history.map((e: { outcome: string }) => e.outcome)).toEqual(['failed', 'failed']);
    const list = await h.request('GET', '/jobs/failed?limit=50');
    expect(list.body).toContainEqual({
      id,
      name: 'demo.fail',
      data: { message: 'card declined' },
      error: 'card declined',
      failedAt: job.failedAt,
      attempts: 2,
      maxAttempts: 2,
    });
    const copies = await eventually(async () => {
      const found = (await drainDeadLetters()).filter((m) => m.jobId === id);
      return found.length > 0 && found;
    });
    expect(copies).toEqual([{ jobId: id, generation: 0, deadLettered: true }]);
  });

  it('waits out the backoff between attempts', async () => {
    const id = await enqueue({
      name: 'demo.flaky',
      data: { failTimes: 1 },
      opts: { attempts: 2, backoff: { type: 'fixed', delay: 1500 } },
    });
    const job = await untilState(id, 'completed');
    const [first, second] = job.history;
    expect(first.outcome).toBe('failed');
    expect(second.start - first.end).toBeGreaterThanOrEqual(1500);
  });

  it('holds a delayed job until it is due', async () => {
    const before = Date.now();
    const answer = await h.request('POST', '/jobs', { name: 'demo.echo', opts: { delay: 1500 } });
    expect(answer.body.state).toBe('delayed');
    const job = await untilState(answer.body.id, 'completed');
    expect(job.history[0].start - before).toBeGreaterThanOrEqual(1500);
  });

  it('fails a job whose name has no processor, at once', async () => {
    const id = await enqueue({ name: 'no.such.processor', opts: { attempts: 3 } });
    const job = await untilState(id, 'failed');
    expect(job.error).toBe("No processor registered for job name 'no.such.processor'");
    expect(job.attempts).toBe(1);
  });

  it('fails an execution that runs past its timeout with a clear error', async () => {
    const id = await enqueue({ name: 'demo.sleep', data: { ms: 5000 }, opts: { attempts: 1, timeout: 200 } });
    const job = await untilState(id, 'failed');
    expect(job.error).toBe('Job timed out after 200 ms');
    expect(job.history[0].outcome).toBe('timed-out');
  });

  it('drops a message that is not a job message without blocking the others', async () => {
    await h.sqs.send(new SendMessageCommand({ QueueUrl: h.queueUrl, MessageBody: 'not json' }));
    await h.sqs.send(new SendMessageCommand({ QueueUrl: h.queueUrl, MessageBody: '{"jobId":"ghost","generation":0}' }));
    const id = await enqueue({ name: 'demo.echo' });
    await untilState(id, 'completed');
    await eventually(async () => {
      const m = (await h.request('GET', '/jobs/metrics')).body;
      return m.queues.main.visible + m.queues.main.inFlight === 0;
    }, 10_000, 'the main queue to empty');
  });
});

describe('custom ids', () => {
  it('accepts a jobId and refuses it a second time with 409', async () => {
    const first = await h.request('POST', '/jobs', { name: 'demo.echo', opts: { jobId: '123' } });
    expect(first.status).toBe(201);
    expect(first.body.id).toBe('123');
    const second = await h.request('POST', '/jobs', { name: 'demo.echo', opts: { jobId: '123' } });
    expect(second.status).toBe(409);
    expect(second.body.code).toBe('DUPLICATE_JOB_ID');
    expect(second.body.error).toMatch(/^Job 123 already exists/);
  });
});
