import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { DynamoDbJobStore } from '../../lambda/adapters/dynamodb-job-store';
import { SqsJobQueue } from '../../lambda/adapters/sqs-job-queue';
import type { Job } from '../../lambda/core/job';
import { resendPendingJobs } from '../../lambda/core/resend-pending-jobs';
import { claim, createJob, LOST_EXECUTION_ERROR, type Transition } from '../../lambda/core/transitions';
import { eventually, startHarness, type Harness } from '../support/requeue-harness';

let h: Harness;
let store: DynamoDbJobStore;
let queue: SqsJobQueue;

beforeAll(async () => {
  h = await startHarness();
  store = new DynamoDbJobStore({ tableName: h.tableName, retentionMs: 60_000 });
  queue = new SqsJobQueue(h);
});
afterAll(() => h.stop());

const opts = { attempts: 2, backoff: { type: 'fixed' as const, delay: 0 }, delay: 0 };
const minutesAgo = (m: number) => Date.now() - m * 60_000;

/** A job written to the table with no message sent: what a crash between the two leaves. */
const strandedJob = async (id: string, state: 'waiting' | 'delayed' | 'active'): Promise<Job> => {
  const job = createJob({ id, name: 'demo.echo', data: { id }, opts: { ...opts, delay: state === 'delayed' ? 1 : 0 } }, minutesAgo(10));
  await store.create(job);
  if (state !== 'active') return job;
  const active = claim(job, 0, minutesAgo(9), 30_000) as Transition;
  await store.save(active.next, active.expect);
  return active.next;
};

const untilCompleted = (id: string) =>
  eventually(async () => {
    const job = await store.get(id);
    return job?.state === 'completed' && job;
  }, 10_000, `job ${id} to complete`);

describe('the reconciler', () => {
  it('re-sends waiting, overdue delayed and abandoned active jobs; each then runs once', async () => {
    await strandedJob('stranded-waiting', 'waiting');
    await strandedJob('stranded-delayed', 'delayed');
    await strandedJob('stranded-active', 'active');
    const fresh = createJob({ id: 'fresh-waiting', name: 'demo.echo', data: null, opts }, Date.now());
    await store.create(fresh);

    const counts = await resendPendingJobs({ store, queue }, { olderThanMs: 60_000 });
    expect(counts).toEqual({ waiting: 1, delayed: 1, active: 1 });

    h.startWorker();
    await untilCompleted('stranded-waiting');
    await untilCompleted('stranded-delayed');
    const recovered = await untilCompleted('stranded-active');
    // the execution that was lost counts as a failed attempt
    expect(recovered.attempts).toBe(2);
    expect(recovered.history.map((e) => [e.outcome, e.error])).toEqual([
      ['failed', LOST_EXECUTION_ERROR],
      ['completed', undefined],
    ]);
    expect((await store.get('fresh-waiting'))?.state).toBe('waiting');
    await h.stopWorker();
  });

  it('leaves a re-sent job alone on the next pass', async () => {
    await strandedJob('resent-once', 'waiting');
    // 'fresh-waiting' of the test above is still too recent to be presumed lost
    expect(await resendPendingJobs({ store, queue }, { olderThanMs: 60_000 })).toEqual({ waiting: 1, delayed: 0, active: 0 });
    expect(await resendPendingJobs({ store, queue }, { olderThanMs: 60_000 })).toEqual({ waiting: 0, delayed: 0, active: 0 });
  });

  it('re-sends nothing while the queue holds a message per pending job, and the stranded job once it drains', async () => {
    const options = { olderThanMs: 60_000, unlessQueueCoversPending: true };
    const stranded = await strandedJob('behind-a-backlog', 'waiting');
    await h.caughtUp();
    const messages = async () => {
      const { main } = await queue.depths();
      return main.visible + main.inFlight + main.delayed;
    };
    const { waiting, delayed, active } = await store.countByState();
    // a backlog: at least as many messages as jobs to run, here of a job that no longer exists
    const missing = Math.max(1, waiting + delayed + active - (await messages()));
    await queue.send(Array.from({ length: missing }, () => ({ jobId: 'gone-long-ago', generation: 0 })));
    expect(await resendPendingJobs({ store, queue }, options)).toEqual({ waiting: 0, delayed: 0, active: 0 });
    expect((await store.get(stranded.id))?.resentAt).toBeUndefined();

    // the backlog drains (read and deleted here; no worker runs)
    for (;;) {
      const { Messages = [] } = await h.sqs.send(new ReceiveMessageCommand({ QueueUrl: h.queueUrl, MaxNumberOfMessages: 10 }));
      if (Messages.length === 0) break;
      for (const m of Messages) await h.sqs.send(new DeleteMessageCommand({ QueueUrl: h.queueUrl, ReceiptHandle: m.ReceiptHandle }));
    }
    expect(await messages()).toBeLessThan(waiting + delayed + active);
    expect(await resendPendingJobs({ store, queue }, options)).toEqual({ waiting: 1, delayed: 0, active: 0 });
    const { Messages = [] } = await h.sqs.send(new ReceiveMessageCommand({ QueueUrl: h.queueUrl, MaxNumberOfMessages: 10 }));
    expect(Messages.map((m) => JSON.parse(m.Body!).jobId)).toEqual([stranded.id]);
  });

  it("at a local start-up, re-sends the jobs left pending before it, not those it has handled since", async () => {
    const left = await strandedJob('left-by-last-run', 'waiting');
    const startedAt = Date.now();
    const since = createJob({ id: 'enqueued-since-start', name: 'demo.echo', data: null, opts }, startedAt + 1);
    await store.create(since);
    await resendPendingJobs({ store, queue }, { untouchedSince: startedAt });
    expect((await store.get(left.id))?.resentAt).toBeGreaterThanOrEqual(startedAt);
    expect((await store.get(since.id))?.resentAt).toBeUndefined();
  });
});
