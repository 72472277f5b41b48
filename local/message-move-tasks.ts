/**
 * SQS's message move tasks (StartMessageMoveTask, ListMessageMoveTasks,
 * CancelMessageMoveTask: the AWS console's "Start DLQ redrive"), which
 * fauxqs 1.9 lacks. A task moves a dead-letter queue's messages as SQS does:
 * receive one from the source, send its body and attributes to the
 * destination, delete it from the source; at most MaxNumberOfMessagesPerSecond.
 * The answers and errors take the shapes AWS documents, so the SDK and the
 * AWS CLI see what they would see on AWS.
 */
import { randomUUID } from 'node:crypto';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type Message,
  type MessageAttributeValue,
  type SQSClient,
} from '@aws-sdk/client-sqs';

export type MoveTaskStatus = 'RUNNING' | 'COMPLETED' | 'CANCELLING' | 'CANCELLED' | 'FAILED';

/** An SQS error as the JSON protocol carries it: `__type` and, for older clients, the query protocol's code. */
export class SqsApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** The query protocol's code (the `x-amzn-query-error` header), where it differs. */
    readonly queryCode = code,
    /** SQS's model gives each error its status: 400 but for ResourceNotFoundException's 404. */
    readonly statusCode = 400,
  ) {
    super(message);
    this.name = 'SqsApiError';
  }
}

const invalidParameter = (message: string) => new SqsApiError('InvalidParameterValue', message);
const notFound = (message: string) => new SqsApiError('ResourceNotFoundException', message, 'ResourceNotFoundException', 404);
const unsupported = (message: string) => new SqsApiError('UnsupportedOperation', message, 'AWS.SimpleQueueService.UnsupportedOperation');

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** AWS's bounds: 500 messages a second at most; ListMessageMoveTasks returns 1 by default, 10 at most. */
const MAX_RATE = 500;
const MAX_LISTED = 10;
/** How long a received message stays hidden while it is moved; released at once when it is not. */
const MOVE_VISIBILITY_SECONDS = 30;

interface Task {
  readonly taskId: string;
  readonly handle: string;
  readonly sourceArn: string;
  readonly sourceUrl: string;
  readonly destinationArn?: string;
  readonly rate?: number;
  readonly startedAt: number;
  readonly toMove: number;
  moved: number;
  status: MoveTaskStatus;
  failureReason?: string;
  running?: Promise<void>;
}

export interface MessageMoveTasksOptions {
  /** A client of the SQS emulator itself (not of the front that answers these actions). */
  readonly sqs: SQSClient;
  /** @default the system clock */
  readonly clock?: Clock;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A present parameter must be a whole number within bounds; AWS words the refusal so. */
const boundedInteger = (body: Record<string, unknown>, name: string, min: number, max: number): number | undefined => {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidParameter(`Value for parameter ${name} is invalid. Reason: You must enter a number that's between ${min} and ${max}.`);
  }
  return value;
};

const requiredString = (body: Record<string, unknown>, name: string): string => {
  const value = body[name];
  if (typeof value !== 'string' || value === '') {
    throw new SqsApiError('MissingParameter', `The request must contain the parameter ${name}.`);
  }
  return value;
};

/** AWS's handle: base64 of `{"taskId", "sourceArn"}`. */
const encodeHandle = (taskId: string, sourceArn: string): string =>
  Buffer.from(JSON.stringify({ taskId, sourceArn })).toString('base64');

const decodeHandle = (handle: string): { taskId?: unknown; sourceArn?: unknown } | undefined => {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(handle, 'base64').toString('utf8'));
    return isRecord(decoded) ? decoded : undefined;
  } catch {
    return undefined;
  }
};

/** The message attributes SendMessage takes back: the received ones, without the SDK's empty list fields. */
const resendable = (attributes: Record<string, MessageAttributeValue> | undefined) => {
  if (!attributes) return undefined;
  const result: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(attributes)) {
    result[name] = {
      DataType: value.DataType,
      ...(value.StringValue !== undefined ? { StringValue: value.StringValue } : {}),
      ...(value.BinaryValue !== undefined ? { BinaryValue: value.BinaryValue } : {}),
    };
  }
  return Object.keys(result).length > 0 ? result : undefined;
};

export class MessageMoveTasks {
  private readonly sqs: SQSClient;
  private readonly clock: Clock;
  /** Per source queue ARN, newest first. */
  private readonly tasks = new Map<string, Task[]>();
  private stopping = false;
  /** Resolved by stop(): a mover waiting for its rate stops waiting. */
  private readonly stopped: Promise<void>;
  private endWaits: () => void = () => undefined;

  constructor(options: MessageMoveTasksOptions) {
    this.sqs = options.sqs;
    this.clock = options.clock ?? realClock;
    this.stopped = new Promise((resolve) => (this.endWaits = resolve));
  }

  /** The JSON answer to one of the three actions, or undefined for any other action. Throws SqsApiError. */
  async answer(action: string, body: unknown): Promise<Record<string, unknown> | undefined> {
    const params = isRecord(body) ? body : {};
    switch (action) {
      case 'StartMessageMoveTask':
        return this.start(params);
      case 'ListMessageMoveTasks':
        return this.list(params);
      case 'CancelMessageMoveTask':
        return this.cancel(params);
      default:
        return undefined;
    }
  }

  /** Stop every task's mover (a message being moved is moved first). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.endWaits();
    const running = [...this.tasks.values()].flat().map((task) => task.running);
    await Promise.all(running);
  }

  private async start(params: Record<string, unknown>): Promise<Record<string, unknown>> {
    const sourceArn = requiredString(params, 'SourceArn');
    const destinationArn = params.DestinationArn === undefined || params.DestinationArn === null ? undefined : params.DestinationArn;
    if (destinationArn !== undefined && typeof destinationArn !== 'string') {
      throw invalidParameter('Value for parameter DestinationArn is invalid. Reason: It must be a queue ARN.');
    }
    const rate = boundedInteger(params, 'MaxNumberOfMessagesPerSecond', 1, MAX_RATE);
    const sourceUrl = await this.queueUrl(sourceArn);
    if (!sourceUrl) throw notFound("The resource that you specified for the SourceArn parameter doesn't exist.");
    if (destinationArn !== undefined && !(await this.queueUrl(destinationArn))) {
      throw notFound("The resource that you specified for the DestinationArn parameter doesn't exist.");
    }
    if (destinationArn !== undefined && destinationArn.endsWith('.fifo') !== sourceArn.endsWith('.fifo')) {
      throw invalidParameter('The destination queue must be of the same type as the source queue.');
    }
    if (!(await this.isDeadLetterQueue(sourceArn))) {
      throw invalidParameter('Source queue must be configured as a Dead Letter Queue.');
    }
    const history = this.tasks.get(sourceArn) ?? [];
    if (history.some((task) => task.status === 'RUNNING' || task.status === 'CANCELLING')) {
      throw unsupported('There is already a task running. Only one active task is allowed for a source queue arn at a given time.');
    }
    const { Attributes } = await this.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: sourceUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
    );
    const taskId = randomUUID();
    const task: Task = {
      taskId,
      handle: encodeHandle(taskId, sourceArn),
      sourceArn,
      sourceUrl,
      ...(destinationArn !== undefined ? { destinationArn } : {}),
      ...(rate !== undefined ? { rate } : {}),
      startedAt: this.clock.now(),
      toMove: Number(Attributes?.ApproximateNumberOfMessages ?? 0),
      moved: 0,
      status: 'RUNNING',
    };
    this.tasks.set(sourceArn, [task, ...history].slice(0, MAX_LISTED));
    task.running = this.move(task);
    return { TaskHandle: task.handle };
  }

  private async list(params: Record<string, unknown>): Promise<Record<string, unknown>> {
    const sourceArn = requiredString(params, 'SourceArn');
    const maxResults = boundedInteger(params, 'MaxResults', 1, MAX_LISTED) ?? 1;
    if (!(await this.queueUrl(sourceArn))) {
      throw notFound("The resource that you specified for the SourceArn parameter doesn't exist.");
    }
    const results = (this.tasks.get(sourceArn) ?? []).slice(0, maxResults).map((task) => ({
      // AWS gives the handle of a running task only: the one a cancel can use
      ...(task.status === 'RUNNING' ? { TaskHandle: task.handle } : {}),
      Status: task.status,
      SourceArn: task.sourceArn,
      ...(task.destinationArn !== undefined ? { DestinationArn: task.destinationArn } : {}),
      ...(task.rate !== undefined ? { MaxNumberOfMessagesPerSecond: task.rate } : {}),
      ApproximateNumberOfMessagesMoved: task.moved,
      ApproximateNumberOfMessagesToMove: task.toMove,
      ...(task.failureReason !== undefined ? { FailureReason: task.failureReason } : {}),
      StartedTimestamp: task.startedAt,
    }));
    return { Results: results };
  }

  private async cancel(params: Record<string, unknown>): Promise<Record<string, unknown>> {
    const handle = requiredString(params, 'TaskHandle');
    const decoded = decodeHandle(handle);
    const task =
      typeof decoded?.sourceArn === 'string'
        ? this.tasks.get(decoded.sourceArn)?.find((candidate) => candidate.taskId === decoded.taskId)
        : undefined;
    if (!task) throw notFound('Task does not exist.');
    if (task.status !== 'RUNNING') throw unsupported(`Only a task in RUNNING status can be cancelled; this one is ${task.status}.`);
    task.status = 'CANCELLING';
    return { ApproximateNumberOfMessagesMoved: task.moved };
  }

  /** The URL of the queue an ARN names, when it exists. */
  private async queueUrl(arn: string): Promise<string | undefined> {
    const parts = arn.split(':');
    if (parts.length !== 6 || parts[0] !== 'arn' || parts[2] !== 'sqs' || !parts[5]) return undefined;
    try {
      const { QueueUrl } = await this.sqs.send(new GetQueueUrlCommand({ QueueName: parts[5] }));
      const { Attributes } = await this.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
      return Attributes?.QueueArn === arn ? QueueUrl : undefined;
    } catch (error) {
      if ((error as Error).name === 'QueueDoesNotExist') return undefined;
      throw error;
    }
  }

  /** Whether some queue's redrive policy names this one as its dead-letter queue. */
  private async isDeadLetterQueue(arn: string): Promise<boolean> {
    const { QueueUrls = [] } = await this.sqs.send(new ListQueuesCommand({}));
    for (const QueueUrl of QueueUrls) {
      const { Attributes } = await this.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['RedrivePolicy'] }));
      if (!Attributes?.RedrivePolicy) continue;
      try {
        if ((JSON.parse(Attributes.RedrivePolicy) as { deadLetterTargetArn?: unknown }).deadLetterTargetArn === arn) return true;
      } catch {
        // a policy SQS would not have taken names no queue
      }
    }
    return false;
  }

  private active(task: Task): boolean {
    return task.status === 'RUNNING' && !this.stopping;
  }

  private async move(task: Task): Promise<void> {
    let received: Message[] = [];
    try {
      const destinationUrl = task.destinationArn === undefined ? undefined : await this.queueUrl(task.destinationArn);
      if (task.destinationArn !== undefined && !destinationUrl) throw new Error('AWS.SimpleQueueService.NonExistentQueue');
      while (this.active(task) && task.moved < task.toMove) {
        const room = Math.min(10, task.toMove - task.moved, task.rate ?? 10);
        const answer = await this.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: task.sourceUrl,
            MaxNumberOfMessages: room,
            VisibilityTimeout: MOVE_VISIBILITY_SECONDS,
            WaitTimeSeconds: 0,
            MessageAttributeNames: ['All'],
            MessageSystemAttributeNames: ['All'],
          }),
        );
        received = answer.Messages ?? [];
        if (received.length === 0) break;
        while (received.length > 0) {
          await this.pace(task);
          if (!this.active(task)) break;
          const message = received[0]!;
          // without a destination each message goes back where SQS dead-lettered it from: a message SQS did not
          // move there itself (sent with SendMessage, as requeue's worker does) has no such source
          const sourceOfMessage = message.Attributes?.DeadLetterQueueSourceArn;
          const target = destinationUrl ?? (sourceOfMessage ? await this.queueUrl(sourceOfMessage) : undefined);
          if (!target) {
            throw new Error(
              sourceOfMessage
                ? 'AWS.SimpleQueueService.NonExistentQueue'
                : 'CouldNotDetermineMessageSource: a message was not moved to this queue by a redrive policy; start the task with a DestinationArn',
            );
          }
          await this.sqs.send(
            new SendMessageCommand({
              QueueUrl: target,
              MessageBody: message.Body ?? '',
              MessageAttributes: resendable(message.MessageAttributes),
            }),
          );
          await this.sqs.send(new DeleteMessageCommand({ QueueUrl: task.sourceUrl, ReceiptHandle: message.ReceiptHandle }));
          received.shift();
          task.moved++;
        }
        await this.release(task, received);
        received = [];
      }
      if (this.stopping && task.status === 'RUNNING') return;
      task.status = task.status === 'CANCELLING' ? 'CANCELLED' : 'COMPLETED';
    } catch (error) {
      // what was received and not moved stays in the source queue, visible again
      await this.release(task, received).catch(() => undefined);
      task.status = 'FAILED';
      task.failureReason = (error as Error).message;
    }
  }

  /** The next message moves no sooner than the rate allows, counted from the task's start. */
  private async pace(task: Task): Promise<void> {
    if (task.rate === undefined) return;
    const due = task.startedAt + (task.moved * 1000) / task.rate;
    const wait = due - this.clock.now();
    if (wait > 0) await Promise.race([this.clock.sleep(wait), this.stopped]);
  }

  /** Received but not moved (cancelled, stopped, failed): visible in the source queue again at once. */
  private async release(task: Task, messages: readonly Message[]): Promise<void> {
    for (const message of messages) {
      await this.sqs.send(
        new ChangeMessageVisibilityCommand({ QueueUrl: task.sourceUrl, ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: 0 }),
      );
    }
  }
}
