import { GetQueueAttributesCommand, GetQueueUrlCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { eventually } from '../support/requeue-harness';
import { removeDataDir, startLocalRuntime, type LocalRuntime } from '../support/local-runtime';

// The local pollers invoke one worker module side by side, which Lambda does
// only on Managed Instances: what an invocation keeps at module scope is shared.
// With one BatchProcessor for all, a batch could answer with another's item
// failures; its finished messages were then kept and came back for a second
// dead-letter copy.

const JOBS = 100;

let runtime: LocalRuntime;
let sqs: SQSClient;

beforeAll(async () => {
  runtime = await startLocalRuntime(); // the default pollers, the default visibility timeout
  const endpoint = /SQS API \(fauxqs\) at (http:\/\/\S+)/.exec(runtime.output())?.[1];
  if (!endpoint) throw new Error(`npm start named no SQS endpoint. Output:\n${runtime.output()}`);
  sqs = new SQSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
});

afterAll(async () => {
  await runtime?.kill();
  if (runtime) removeDataDir(runtime.dataDir);
  sqs?.destroy();
});

const queueUrl = async (name: string) => (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl!;

/** fauxqs counts exactly: visible, in flight and delayed. */
const depth = async (url: string) => {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
    }),
  );
  return (
    Number(Attributes.ApproximateNumberOfMessages) +
    Number(Attributes.ApproximateNumberOfMessagesNotVisible) +
    Number(Attributes.ApproximateNumberOfMessagesDelayed)
  );
};

/** Every message of the queue, each received once: held out of sight for the rest of the test. */
const receiveAll = async (url: string): Promise<string[]> => {
  const bodies: string[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 600, WaitTimeSeconds: 0 }),
    );
    if (Messages.length === 0) return bodies;
    bodies.push(...Messages.map((m) => m.Body!));
  }
};

it(`leaves one dead-letter copy per failed job and every message deleted, for ${JOBS} jobs`, async () => {
  const enqueued = await Promise.all(
    Array.from({ length: JOBS }, (_, i) =>
      runtime.request('POST', '/jobs', {
        name: 'demo.fail',
        data: { message: `failure ${i}` },
        // the first failure hands its message back as a batch item failure; the second is final
        opts: { attempts: 2, backoff: { type: 'fixed', delay: 0 } },
      }),
    ),
  );
  expect(enqueued.map((answer) => answer.status)).toEqual(Array(JOBS).fill(201));
  const ids = enqueued.map((answer) => answer.body.id as string).sort();

  await eventually(
    async () => (await runtime.request('GET', `/jobs/failed?limit=${JOBS}`)).body.length === JOBS,
    60_000,
    `all ${JOBS} jobs to fail`,
  );
  const [main, deadLetter] = await Promise.all([queueUrl('requeue-jobs'), queueUrl('requeue-jobs-dlq')]);
  // the last invocations delete their messages just after recording the failures; one they kept
  // would stay in flight for the visibility timeout (30 s), then come back for a second copy
  await eventually(async () => (await depth(main)) === 0, 20_000, 'every message of the main queue to be deleted').catch(
    async (error: Error) => {
      throw new Error(`${error.message}: ${await depth(main)} left`);
    },
  );

  expect(await depth(deadLetter)).toBe(JOBS);
  const copies = (await receiveAll(deadLetter)).map((body) => JSON.parse(body) as { jobId: string });
  expect(copies.map((copy) => copy.jobId).sort()).toEqual(ids);
}, 120_000);
