import { randomUUID } from 'node:crypto';
import {
  CancelMessageMoveTaskCommand,
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  ResourceNotFoundException,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
  UnsupportedOperation,
} from '@aws-sdk/client-sqs';
import type { Clock } from '../../local/message-move-tasks';
import { startSqsFront, type SqsFront } from '../../local/sqs-front';
import { eventually } from '../support/requeue-harness';

// The local runtime's message move tasks, through the AWS SDK's own commands,
// in front of the SQS emulator the global setup started.

/** Time that moves only when the test says: a sleeping mover waits for `advance`. */
class TestClock implements Clock {
  private time = 1_700_000_000_000;
  private readonly sleepers: { at: number; wake: () => void }[] = [];
  now = (): number => this.time;
  sleep = (ms: number): Promise<void> => new Promise((wake) => this.sleepers.push({ at: this.time + ms, wake }));
  get sleeping(): number {
    return this.sleepers.length;
  }
  advance(ms: number): void {
    this.time += ms;
    for (const sleeper of this.sleepers.filter(({ at }) => at <= this.time)) {
      this.sleepers.splice(this.sleepers.indexOf(sleeper), 1);
      sleeper.wake();
    }
  }
}

const upstream = process.env.AWS_ENDPOINT_URL_SQS!;
let front: SqsFront;
let sqs: SQSClient;
let clock: TestClock;

beforeEach(async () => {
  clock = new TestClock();
  front = await startSqsFront({ upstream, port: 0, host: '127.0.0.1', region: 'us-east-1', clock });
  sqs = new SQSClient({ endpoint: `http://127.0.0.1:${front.port}`, useQueueUrlAsEndpoint: false });
});

afterEach(async () => {
  await front.stop();
  sqs.destroy();
});

const arnOf = async (queueUrl: string): Promise<string> => {
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  return Attributes!.QueueArn!;
};

/** A main queue whose redrive policy names a dead-letter queue, as requeue provisions them. */
const queues = async () => {
  const name = `move-${randomUUID().slice(0, 8)}`;
  const dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }))).QueueUrl!;
  const dlqArn = await arnOf(dlqUrl);
  const mainUrl = (
    await sqs.send(
      new CreateQueueCommand({
        QueueName: name,
        Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: '300' }) },
      }),
    )
  ).QueueUrl!;
  return { dlqUrl, dlqArn, mainUrl, mainArn: await arnOf(mainUrl) };
};

const fill = async (queueUrl: string, count: number): Promise<void> => {
  for (let sent = 0; sent < count; sent += 10) {
    const entries = Array.from({ length: Math.min(10, count - sent) }, (_, i) => ({
      Id: String(i),
      MessageBody: JSON.stringify({ n: sent + i }),
    }));
    await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
  }
};

const depth = async (queueUrl: string): Promise<number> => {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(Attributes!.ApproximateNumberOfMessages) + Number(Attributes!.ApproximateNumberOfMessagesNotVisible);
};

const latest = async (sourceArn: string) =>
  (await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: sourceArn }))).Results![0]!;

const finished = (sourceArn: string, status: string) =>
  eventually(async () => {
    const task = await latest(sourceArn);
    return task.Status === status && task;
  }, 10_000, `a ${status} task`);

describe('StartMessageMoveTask', () => {
  it('moves every message with its body and attributes, then completes', async () => {
    const { dlqUrl, dlqArn, mainUrl, mainArn } = await queues();
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: dlqUrl,
        MessageBody: '{"jobId":"a","generation":1,"deadLettered":true}',
        MessageAttributes: { origin: { DataType: 'String', StringValue: 'worker' } },
      }),
    );
    await fill(dlqUrl, 14);

    const { TaskHandle } = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlqArn, DestinationArn: mainArn }));
    expect(JSON.parse(Buffer.from(TaskHandle!, 'base64').toString())).toEqual({ taskId: expect.any(String), sourceArn: dlqArn });

    const task = await finished(dlqArn, 'COMPLETED');
    expect(task).toMatchObject({ ApproximateNumberOfMessagesMoved: 15, ApproximateNumberOfMessagesToMove: 15, DestinationArn: mainArn });
    expect(task.TaskHandle).toBeUndefined();
    expect(task.MaxNumberOfMessagesPerSecond).toBeUndefined();
    expect(await depth(dlqUrl)).toBe(0);
    expect(await depth(mainUrl)).toBe(15);
    const bodies: string[] = [];
    const attributes: unknown[] = [];
    while (bodies.length < 15) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: mainUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'] }),
      );
      for (const message of Messages) {
        bodies.push(message.Body!);
        if (message.MessageAttributes) attributes.push(message.MessageAttributes);
      }
    }
    expect(bodies).toContain('{"jobId":"a","generation":1,"deadLettered":true}');
    expect(attributes).toEqual([{ origin: expect.objectContaining({ DataType: 'String', StringValue: 'worker' }) }]);
  });

  it('moves no faster than MaxNumberOfMessagesPerSecond, and a cancel stops it: CANCELLING, then CANCELLED', async () => {
    const { dlqUrl, dlqArn, mainUrl, mainArn } = await queues();
    await fill(dlqUrl, 10);
    const { TaskHandle } = await sqs.send(
      new StartMessageMoveTaskCommand({ SourceArn: dlqArn, DestinationArn: mainArn, MaxNumberOfMessagesPerSecond: 2 }),
    );
    // the first message moves at once, the next one 500 ms later: the mover waits for the clock
    await eventually(async () => clock.sleeping === 1, 5000, 'the mover to wait');
    expect(await latest(dlqArn)).toMatchObject({
      Status: 'RUNNING',
      TaskHandle,
      MaxNumberOfMessagesPerSecond: 2,
      ApproximateNumberOfMessagesMoved: 1,
      ApproximateNumberOfMessagesToMove: 10,
    });
    clock.advance(499);
    expect(clock.sleeping).toBe(1);
    clock.advance(1);
    await eventually(async () => (await latest(dlqArn)).ApproximateNumberOfMessagesMoved === 2 && clock.sleeping === 1);
    clock.advance(1000);
    await eventually(async () => (await latest(dlqArn)).ApproximateNumberOfMessagesMoved === 4 && clock.sleeping === 1);

    const cancelled = await sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle }));
    expect(cancelled.ApproximateNumberOfMessagesMoved).toBe(4);
    expect((await latest(dlqArn)).Status).toBe('CANCELLING');
    clock.advance(500);
    const task = await finished(dlqArn, 'CANCELLED');
    expect(task.ApproximateNumberOfMessagesMoved).toBe(4);
    // what was not moved stays in the dead-letter queue, visible
    expect(await depth(mainUrl)).toBe(4);
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
    expect(Attributes!.ApproximateNumberOfMessages).toBe('6');
  });

  it('fails, moving nothing, when a message has no source queue to go back to and no DestinationArn is given', async () => {
    const { dlqUrl, dlqArn, mainUrl } = await queues();
    // sent straight to the dead-letter queue, as requeue's worker sends its copies: SQS records no source for it
    await fill(dlqUrl, 3);
    const { TaskHandle } = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlqArn }));
    expect(TaskHandle).toEqual(expect.any(String));
    const task = await finished(dlqArn, 'FAILED');
    expect(task.FailureReason).toMatch(/^CouldNotDetermineMessageSource/);
    expect(task.ApproximateNumberOfMessagesMoved).toBe(0);
    expect(task.DestinationArn).toBeUndefined();
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
    expect(Attributes!.ApproximateNumberOfMessages).toBe('3');
    expect(await depth(mainUrl)).toBe(0);
  });

  it('refuses a source that is no queue, or no dead-letter queue, and a destination that is no queue', async () => {
    const { dlqArn, mainArn } = await queues();
    const missing = dlqArn.replace(/[^:]+$/, 'no-such-queue');
    await expect(sqs.send(new StartMessageMoveTaskCommand({ SourceArn: missing }))).rejects.toThrow(ResourceNotFoundException);
    await expect(sqs.send(new StartMessageMoveTaskCommand({ SourceArn: 'not an arn' }))).rejects.toThrow(ResourceNotFoundException);
    await expect(sqs.send(new StartMessageMoveTaskCommand({ SourceArn: mainArn }))).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message: 'Source queue must be configured as a Dead Letter Queue.',
      $metadata: { httpStatusCode: 400 },
    });
    await expect(sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlqArn, DestinationArn: missing }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      message: "The resource that you specified for the DestinationArn parameter doesn't exist.",
      $metadata: { httpStatusCode: 404 },
    });
    await expect(sqs.send(new StartMessageMoveTaskCommand({} as never))).rejects.toMatchObject({ name: 'MissingParameter' });
    expect((await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: dlqArn }))).Results).toEqual([]);
  });

  it('refuses a rate outside 1-500', async () => {
    const { dlqArn, mainArn } = await queues();
    for (const rate of [0, 501, 1.5, -1]) {
      await expect(
        sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlqArn, DestinationArn: mainArn, MaxNumberOfMessagesPerSecond: rate })),
      ).rejects.toMatchObject({
        name: 'InvalidParameterValue',
        message: "Value for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: You must enter a number that's between 1 and 500.",
      });
    }
  });

  it('allows one active task per source queue', async () => {
    const { dlqUrl, dlqArn, mainArn } = await queues();
    await fill(dlqUrl, 3);
    const { TaskHandle } = await sqs.send(
      new StartMessageMoveTaskCommand({ SourceArn: dlqArn, DestinationArn: mainArn, MaxNumberOfMessagesPerSecond: 1 }),
    );
    await expect(sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlqArn, DestinationArn: mainArn }))).rejects.toThrow(
      UnsupportedOperation,
    );
    await sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle }));
    // still cancelling: still the active one
    await expect(sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlqArn, DestinationArn: mainArn }))).rejects.toThrow(
      UnsupportedOperation,
    );
    clock.advance(1000);
    await finished(dlqArn, 'CANCELLED');
    await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlqArn, DestinationArn: mainArn }));
    await finished(dlqArn, 'COMPLETED');
  });

  it('stops with the endpoint at once, leaving what it did not move in the dead-letter queue', async () => {
    const { dlqUrl, dlqArn, mainUrl, mainArn } = await queues();
    await fill(dlqUrl, 5);
    await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlqArn, DestinationArn: mainArn, MaxNumberOfMessagesPerSecond: 1 }));
    await eventually(async () => clock.sleeping === 1, 5000, 'the mover to wait');
    // the test clock never advances: only the stop can end the wait
    await front.stop();
    // for the checks, and for afterEach to stop
    front = await startSqsFront({ upstream, port: 0, host: '127.0.0.1', region: 'us-east-1', clock });
    sqs.destroy();
    sqs = new SQSClient({ endpoint: `http://127.0.0.1:${front.port}`, useQueueUrlAsEndpoint: false });
    expect(await depth(mainUrl)).toBe(1);
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
    expect(Attributes!.ApproximateNumberOfMessages).toBe('4');
  });
});

describe('ListMessageMoveTasks', () => {
  it('lists the most recent task by default, up to 10 with MaxResults, newest first', async () => {
    const { dlqUrl, dlqArn, mainArn } = await queues();
    for (let started = 0; started < 11; started++) {
      await fill(dlqUrl, 1);
      await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlqArn, DestinationArn: mainArn }));
      await finished(dlqArn, 'COMPLETED');
      clock.advance(1000);
    }
    const one = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: dlqArn }));
    expect(one.Results).toHaveLength(1);
    const ten = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: dlqArn, MaxResults: 10 }));
    expect(ten.Results).toHaveLength(10);
    const started = ten.Results!.map((task) => task.StartedTimestamp!);
    expect(started).toEqual([...started].sort((a, b) => b - a));
    expect(started[0]).toBe(one.Results![0]!.StartedTimestamp);
    expect(ten.Results!.every((task) => task.Status === 'COMPLETED' && task.ApproximateNumberOfMessagesMoved === 1)).toBe(true);
  });

  it('refuses MaxResults outside 1-10 and an unknown source', async () => {
    const { dlqArn } = await queues();
    for (const maxResults of [0, 11]) {
      await expect(sqs.send(new ListMessageMoveTasksCommand({ SourceArn: dlqArn, MaxResults: maxResults }))).rejects.toMatchObject({
        name: 'InvalidParameterValue',
        message: "Value for parameter MaxResults is invalid. Reason: You must enter a number that's between 1 and 10.",
      });
    }
    await expect(
      sqs.send(new ListMessageMoveTasksCommand({ SourceArn: dlqArn.replace(/[^:]+$/, 'no-such-queue') })),
    ).rejects.toThrow(ResourceNotFoundException);
  });
});

describe('CancelMessageMoveTask', () => {
  it('refuses an unknown handle, and a task that is no longer running', async () => {
    const { dlqUrl, dlqArn, mainArn } = await queues();
    await expect(sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle: 'bm9wZQ==' }))).rejects.toThrow(ResourceNotFoundException);
    const forged = Buffer.from(JSON.stringify({ taskId: randomUUID(), sourceArn: dlqArn })).toString('base64');
    await expect(sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle: forged }))).rejects.toThrow(ResourceNotFoundException);
    await fill(dlqUrl, 1);
    const { TaskHandle } = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlqArn, DestinationArn: mainArn }));
    await finished(dlqArn, 'COMPLETED');
    await expect(sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle }))).rejects.toThrow(UnsupportedOperation);
  });
});

describe('every other action', () => {
  it('reaches the emulator unchanged', async () => {
    const { mainUrl } = await queues();
    await sqs.send(new SendMessageCommand({ QueueUrl: mainUrl, MessageBody: 'hello' }));
    const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: mainUrl }));
    expect(Messages?.map((message) => message.Body)).toEqual(['hello']);
    await expect(sqs.send(new GetQueueAttributesCommand({ QueueUrl: `${mainUrl}-gone`, AttributeNames: ['All'] }))).rejects.toMatchObject({
      name: 'QueueDoesNotExist',
    });
  });
});
