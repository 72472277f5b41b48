import {
  CancelMessageMoveTaskCommand,
  ChangeMessageVisibilityCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
  type ListMessageMoveTasksResultEntry,
} from '@aws-sdk/client-sqs';
import { eventually } from '../support/requeue-harness';
import { removeDataDir, startLocalRuntime, type LocalRuntime } from '../support/local-runtime';

// The AWS console's DLQ redrive, as the SDK starts it (StartMessageMoveTask),
// against `npm start`: each job still failed runs once more as a retry, a copy
// made stale by an API retry runs nothing.

let runtime: LocalRuntime;
let sqs: SQSClient;
let mainArn: string;
let deadLetterArn: string;
let deadLetterUrl: string;

const arnOf = async (queueUrl: string) =>
  (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;

// a runtime per test: the reconciler's first pass, a minute in, sweeps the DLQ too
beforeEach(async () => {
  runtime = await startLocalRuntime();
  const endpoint = /SQS API \(fauxqs\) at (http:\/\/\S+)/.exec(runtime.output())?.[1];
  if (!endpoint) throw new Error(`npm start named no SQS endpoint. Output:\n${runtime.output()}`);
  sqs = new SQSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  deadLetterUrl = (await sqs.send(new GetQueueUrlCommand({ QueueName: 'requeue-jobs-dlq' }))).QueueUrl!;
  deadLetterArn = await arnOf(deadLetterUrl);
  mainArn = await arnOf((await sqs.send(new GetQueueUrlCommand({ QueueName: 'requeue-jobs' }))).QueueUrl!);
});

afterEach(async () => {
  await runtime?.kill();
  if (runtime) removeDataDir(runtime.dataDir);
  sqs?.destroy();
});

const deadLetterDepth = async () => {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: deadLetterUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible);
};

const job = async (id: string) => (await runtime.request('GET', `/jobs/details/${id}`)).body;

/** Jobs that fail their one attempt and succeed on their next execution, each with its copy in the DLQ. */
const failedJobs = async (count: number): Promise<string[]> => {
  const before = await deadLetterDepth();
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const answer = await runtime.request('POST', '/jobs', { name: 'demo.flaky', data: { failTimes: 1 }, opts: { attempts: 1 } });
    expect(answer.status).toBe(201);
    ids.push(answer.body.id);
  }
  await eventually(async () => (await deadLetterDepth()) === before + count, 30_000, `${count} dead-letter copies`);
  for (const id of ids) expect((await job(id)).state).toBe('failed');
  return ids;
};

const latestTask = async (): Promise<ListMessageMoveTasksResultEntry> =>
  (await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: deadLetterArn }))).Results![0]!;

const taskIs = (status: string, timeoutMs = 30_000) =>
  eventually(async () => {
    const task = await latestTask();
    return task.Status === status && task;
  }, timeoutMs, `a ${status} move task`);

it('retries each job still failed once, attempts reset, and drops the copy an API retry made stale', async () => {
  const ids = await failedJobs(5);
  const [retried, ...stillFailed] = ids as [string, ...string[]];
  // the retry route clears the stale copies one receive of the DLQ finds: with the copies out of its
  // sight (as while a console shows them), the retried job's copy stays, stale
  const held = [];
  while (held.length < ids.length) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: deadLetterUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 300 }),
    );
    held.push(...Messages);
  }
  expect((await runtime.request('POST', `/jobs/retry/${retried}`)).status).toBe(200);
  for (const message of held) {
    await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: deadLetterUrl, ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: 0 }));
  }
  await eventually(async () => (await job(retried)).state === 'completed', 20_000, 'the API retry to complete');
  expect(await deadLetterDepth()).toBe(5);

  await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: deadLetterArn, DestinationArn: mainArn }));
  const task = await taskIs('COMPLETED');
  expect(task).toMatchObject({ ApproximateNumberOfMessagesMoved: 5, ApproximateNumberOfMessagesToMove: 5 });
  expect(await deadLetterDepth()).toBe(0);

  for (const id of stillFailed) {
    const redriven = await eventually(async () => {
      const current = await job(id);
      return current.state === 'completed' && current;
    }, 20_000, `job ${id} to complete after the redrive`);
    expect(redriven).toMatchObject({ attempts: 1, maxAttempts: 1, returnValue: { executions: 2 } });
    expect(redriven.retries).toEqual([expect.objectContaining({ source: 'redrive', generation: 1 })]);
    expect(redriven.history.map((entry: { outcome: string }) => entry.outcome)).toEqual(['failed', 'completed']);
  }
  // the stale copy went through the same queue as the others: by now it was handled, and ran nothing
  const apiRetried = await job(retried);
  expect(apiRetried.retries).toEqual([expect.objectContaining({ source: 'api', generation: 1 })]);
  expect(apiRetried.history).toHaveLength(2);
  expect((await runtime.request('GET', '/jobs/failed')).body).toEqual([]);
}, 120_000);

it('fails without a DestinationArn: requeue sends its copies to the DLQ itself, so SQS knows no source for them', async () => {
  const ids = await failedJobs(2);
  await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: deadLetterArn }));
  const task = await taskIs('FAILED');
  expect(task.FailureReason).toMatch(/^CouldNotDetermineMessageSource/);
  expect(task.ApproximateNumberOfMessagesMoved).toBe(0);
  expect(await deadLetterDepth()).toBe(2);
  for (const id of ids) expect((await job(id)).state).toBe('failed');

  // with the main queue named, they come back
  await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: deadLetterArn, DestinationArn: mainArn }));
  await taskIs('COMPLETED');
  for (const id of ids) await eventually(async () => (await job(id)).state === 'completed', 20_000, `job ${id} to complete`);
}, 120_000);

it('moves at MaxNumberOfMessagesPerSecond; a cancel leaves the rest failed, in the DLQ', async () => {
  const ids = await failedJobs(10);
  const { TaskHandle } = await sqs.send(
    new StartMessageMoveTaskCommand({ SourceArn: deadLetterArn, DestinationArn: mainArn, MaxNumberOfMessagesPerSecond: 1 }),
  );
  // at one a second, ten messages take nine seconds at least
  const running = await latestTask();
  expect(running).toMatchObject({ Status: 'RUNNING', TaskHandle, MaxNumberOfMessagesPerSecond: 1, ApproximateNumberOfMessagesToMove: 10 });
  expect(running.ApproximateNumberOfMessagesMoved).toBeLessThan(10);

  const { ApproximateNumberOfMessagesMoved: movedAtCancel } = await sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle }));
  expect(movedAtCancel).toBeLessThan(10);
  expect(['CANCELLING', 'CANCELLED']).toContain((await latestTask()).Status);
  const cancelled = await taskIs('CANCELLED');
  const moved = cancelled.ApproximateNumberOfMessagesMoved!;
  expect(moved).toBeLessThan(10);
  expect(await deadLetterDepth()).toBe(10 - moved);
  await eventually(
    async () => {
      const states = await Promise.all(ids.map(async (id) => (await job(id)).state as string));
      return states.filter((state) => state === 'completed').length === moved && states.filter((state) => state === 'failed').length === 10 - moved;
    },
    20_000,
    `${moved} moved jobs to complete, the rest to stay failed`,
  );
}, 120_000);
