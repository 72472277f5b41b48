import { createHash } from 'node:crypto';
import {
  GetQueueAttributesCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { createSqsClient } from '../../lambda/adapters/aws-clients';
import { recordsToDelete, startEventSource, type EventSource, type SqsHandler } from '../../local/event-source';
import { eventually } from '../support/requeue-harness';
import { freshResources } from '../support/resources';

// The event-source emulation against the SQS emulator, feeding a handler that
// answers as each test needs.

const record = (messageId: string): SQSRecord => ({ messageId }) as SQSRecord;

describe('which records Lambda deletes', () => {
  const batch = [record('a'), record('b'), record('c')];

  it('deletes all on an empty or missing batchItemFailures', () => {
    expect(recordsToDelete(batch, undefined)).toEqual(batch);
    expect(recordsToDelete(batch, {})).toEqual(batch);
    expect(recordsToDelete(batch, { batchItemFailures: [] })).toEqual(batch);
  });

  it('keeps the reported failures', () => {
    expect(recordsToDelete(batch, { batchItemFailures: [{ itemIdentifier: 'b' }] })).toEqual([batch[0], batch[2]]);
  });

  it('keeps the whole batch when an identifier is empty or unknown', () => {
    expect(recordsToDelete(batch, { batchItemFailures: [{ itemIdentifier: '' }] })).toEqual([]);
    expect(recordsToDelete(batch, { batchItemFailures: [{ itemIdentifier: 'zzz' }] })).toEqual([]);
    expect(recordsToDelete(batch, { batchItemFailures: 'b' })).toEqual([]);
  });
});

describe('the event-source emulation', () => {
  let sqs: SQSClient;
  let queueUrl: string;
  let queueArn: string;
  let source: EventSource | undefined;
  const events: SQSEvent[] = [];
  const errors: string[] = [];

  // a queue per test: a long poll aborted by stop() still takes the next
  // message on the emulator's side, which would hide it from the next test
  beforeEach(async () => {
    const resources = await freshResources({ visibilityTimeoutSeconds: 1 });
    sqs = resources.sqs;
    queueUrl = resources.queueUrl;
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
    queueArn = Attributes!.QueueArn!;
  });

  afterEach(async () => {
    await source?.stop();
    source = undefined;
    events.length = 0;
    errors.length = 0;
  });

  const start = (handler: SqsHandler, extra: { waitTimeSeconds?: number; deleteSqs?: SQSClient } = {}) => {
    source = startEventSource({
      sqs,
      ...(extra.deleteSqs ? { deleteSqs: extra.deleteSqs } : {}),
      queueUrl,
      queueArn,
      region: 'us-east-1',
      functionName: 'test-worker',
      timeoutMs: 1000,
      handler: async (event, context) => {
        events.push(event);
        return handler(event, context);
      },
      waitTimeSeconds: extra.waitTimeSeconds ?? 1,
      logError: (message) => errors.push(message),
    });
  };

  const depth = async () => {
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return Number(Attributes!.ApproximateNumberOfMessages) + Number(Attributes!.ApproximateNumberOfMessagesNotVisible);
  };

  const sendBodies = async (bodies: string[]) => {
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: bodies.map((body, i) => ({ Id: String(i), MessageBody: body })),
      }),
    );
  };

  const received = () => events.flatMap((event) => event.Records);

  it("hands the function records in Lambda's shape and deletes the batch it handled", async () => {
    const sentAt = Date.now();
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: '{"jobId":"1","generation":0}',
        MessageAttributes: { origin: { DataType: 'String', StringValue: 'test' } },
      }),
    );
    start(async () => ({ batchItemFailures: [] }));
    await eventually(async () => received().length === 1, 5_000, 'one record');
    const [rec] = received();
    expect(rec).toMatchObject({
      messageId: expect.any(String),
      receiptHandle: expect.any(String),
      body: '{"jobId":"1","generation":0}',
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: expect.stringMatching(/^\d+$/),
        SenderId: expect.any(String),
        ApproximateFirstReceiveTimestamp: expect.stringMatching(/^\d+$/),
      },
      messageAttributes: {
        origin: { stringValue: 'test', stringListValues: [], binaryListValues: [], dataType: 'String' },
      },
      md5OfBody: createHash('md5').update('{"jobId":"1","generation":0}').digest('hex'),
      eventSource: 'aws:sqs',
      eventSourceARN: queueArn,
      awsRegion: 'us-east-1',
    });
    expect(Number(rec!.attributes.SentTimestamp)).toBeGreaterThanOrEqual(sentAt - 1000);
    await eventually(async () => (await depth()) === 0, 5_000, 'the message to be deleted');
  });

  it('batches up to ten messages', async () => {
    await sendBodies(Array.from({ length: 10 }, (_, i) => `m${i}`));
    await sendBodies(Array.from({ length: 5 }, (_, i) => `n${i}`));
    start(async () => undefined);
    await eventually(async () => received().length === 15, 5_000, 'fifteen records');
    expect(Math.max(...events.map((e) => e.Records.length))).toBeLessThanOrEqual(10);
    await eventually(async () => (await depth()) === 0, 5_000, 'every message to be deleted');
  });

  it('deletes through a client of its own when given one, with cached middleware', async () => {
    const deleteSqs = createSqsClient({ cacheMiddleware: true });
    const deletes: string[] = [];
    deleteSqs.middlewareStack.add((next, context) => (args) => {
      deletes.push(String(context.commandName));
      return next(args);
    });
    await sendBodies(Array.from({ length: 10 }, (_, i) => `d${i}`));
    await sendBodies(['d10', 'd11']);
    start(async () => undefined, { deleteSqs });
    await eventually(async () => (await depth()) === 0, 5_000, 'every message to be deleted');
    expect(received()).toHaveLength(12);
    expect(new Set(deletes)).toEqual(new Set(['DeleteMessageBatchCommand']));
    deleteSqs.destroy();
  });

  it('deletes the handled records and leaves the reported failures to come back', async () => {
    await sendBodies(['ok-1', 'fail', 'ok-2']);
    const receiveCounts: string[] = [];
    start(async (event): Promise<SQSBatchResponse> => {
      const failures = event.Records.filter((r) => r.body === 'fail');
      for (const r of failures) receiveCounts.push(r.attributes.ApproximateReceiveCount);
      // the second delivery succeeds
      return { batchItemFailures: failures.filter((r) => r.attributes.ApproximateReceiveCount === '1').map((r) => ({ itemIdentifier: r.messageId })) };
    });
    await eventually(async () => receiveCounts.length === 2, 8_000, 'the failed message to come back');
    expect(receiveCounts).toEqual(['1', '2']);
    expect(received().filter((r) => r.body.startsWith('ok-'))).toHaveLength(2);
    await eventually(async () => (await depth()) === 0, 5_000, 'every message to be deleted');
  });

  it('deletes nothing when the function throws: the whole batch comes back', async () => {
    await sendBodies(['x', 'y']);
    let calls = 0;
    start(async () => {
      calls += 1;
      if (calls === 1) throw new Error('the function crashed');
    });
    await eventually(async () => received().length >= 4, 8_000, 'both messages to come back');
    const counts = received().map((r) => `${r.body}:${r.attributes.ApproximateReceiveCount}`).sort();
    expect(counts).toEqual(['x:1', 'x:2', 'y:1', 'y:2']);
    expect(errors.join('\n')).toContain('the function crashed');
    await eventually(async () => (await depth()) === 0, 5_000, 'every message to be deleted');
  });

  it('fails an invocation that outlives the function timeout, deleting nothing', async () => {
    await sendBodies(['slow']);
    let calls = 0;
    start(async () => {
      calls += 1;
      // the first invocation never returns: only the function timeout ends it
      if (calls === 1) await new Promise(() => undefined);
    });
    // the visibility timeout equals the function timeout, so the message may come
    // back before the timed-out invocation is reported: wait for both
    await eventually(async () => received().length >= 2, 8_000, 'the message to come back');
    await eventually(
      async () => errors.join('\n').includes('Task timed out after 1.00 seconds'),
      5_000,
      'the timeout to be reported',
    );
    await eventually(async () => (await depth()) === 0, 5_000, 'the message to be deleted');
  });

  it('stops at once while long polling', async () => {
    start(async () => undefined, { waitTimeSeconds: 20 });
    await eventually(async () => (await depth()) === 0, 1_000, 'an empty queue');
    const stopping = Date.now();
    await source!.stop();
    source = undefined;
    expect(Date.now() - stopping).toBeLessThan(1_000);
  });

  it('lets a batch in flight finish before stop resolves', async () => {
    let finished = false;
    let stopCalled!: () => void;
    const stopping = new Promise<void>((resolve) => (stopCalled = resolve));
    await sendBodies(['in-flight']);
    start(async () => {
      // the batch is still at work, a call to SQS, after stop() is called: a stop that did not wait
      // for it would resolve while that call is on its way
      await stopping;
      await depth();
      finished = true;
    });
    await eventually(async () => received().length === 1, 5_000, 'the batch to start');
    const stopped = source!.stop();
    stopCalled();
    await stopped;
    source = undefined;
    expect(finished).toBe(true);
    expect(await depth()).toBe(0);
  });
});
