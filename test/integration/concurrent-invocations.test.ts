import type { Message } from '@aws-sdk/client-sqs';
import { toSqsRecord, type SqsHandler } from '../../local/event-source';
import { createLambdaContext } from '../../local/lambda-context';
import { freshResources } from '../support/resources';

// The local runtime's pollers invoke one module side by side (Lambda Managed
// Instances do too); each invocation must answer for its own batch only. The
// worker's case runs end to end in test/e2e/failing-jobs.test.ts.

let runner: SqsHandler;

beforeAll(async () => {
  await freshResources();
  ({ handler: runner } = await import('../../lambda/handlers/retry-task-runner'));
});

const REGION = 'us-east-1';
const record = (messageId: string, body: string) =>
  toSqsRecord({ MessageId: messageId, ReceiptHandle: `${messageId}-receipt`, Body: body } as Message, 'arn:aws:sqs:::tasks', REGION);
const context = () => createLambdaContext({ functionName: 'retry-task-runner', timeoutMs: 60_000, region: REGION });

it('answers each of two side-by-side task-runner invocations with its own failures', async () => {
  // fails at once, before anything is read
  const unreadable = record('unreadable', 'not json');
  // succeeds once the task is read: there is none, so nothing to do
  const unknownTask = record('unknown-task', JSON.stringify({ taskId: 'no-such-task' }));

  const [first, second] = await Promise.all([
    runner({ Records: [unreadable] }, context()),
    runner({ Records: [unknownTask] }, context()),
  ]);

  expect(first).toEqual({ batchItemFailures: [{ itemIdentifier: 'unreadable' }] });
  expect(second).toEqual({ batchItemFailures: [] });
});
