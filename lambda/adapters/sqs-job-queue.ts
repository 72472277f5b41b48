import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  GetQueueAttributesCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { JobMessage } from '../core/job';
import { parseJobMessage } from '../core/process-job-message';
import type { HiddenMessage, JobQueue, QueueDepth, TaskQueue } from '../core/ports';
import { createSqsClient } from './aws-clients';
import { isUnavailable, rethrowSdkError } from './dependency-errors';

/** SQS delays a message at most 15 minutes; a later job is re-hidden by the worker until due. */
const MAX_DELAY_SECONDS = 900;
/** SQS hides a received message at most 12 hours. */
const MAX_VISIBILITY_SECONDS = 12 * 60 * 60;
const BATCH = 10;

export const encodeMessage = (message: JobMessage): string => JSON.stringify(message);


const toSeconds = (ms: number, max: number) => Math.min(max, Math.max(0, Math.ceil(ms / 1000)));

export interface SqsJobQueueProps {
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
  /** @default a client configured from the environment */
  readonly client?: SQSClient;
}

export class SqsJobQueue implements JobQueue {
  private readonly sqs: SQSClient;

  constructor(private readonly props: SqsJobQueueProps) {
    this.sqs = props.client ?? createSqsClient({ cacheMiddleware: true });
  }

  async send(messages: readonly JobMessage[], delayMs = 0): Promise<readonly JobMessage[]> {
    const chunks: JobMessage[][] = [];
    for (let i = 0; i < messages.length; i += BATCH) chunks.push(messages.slice(i, i + BATCH));
    const unsent = await Promise.all(chunks.map((chunk) => this.sendBatch(chunk, delayMs)));
    return unsent.flat();
  }

  private async sendBatch(chunk: readonly JobMessage[], delayMs: number): Promise<JobMessage[]> {
    try {
      const { Failed = [] } = await this.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: this.props.queueUrl,
          Entries: chunk.map((message, i) => ({
            Id: String(i),
            MessageBody: encodeMessage(message),
            DelaySeconds: toSeconds(delayMs, MAX_DELAY_SECONDS),
          })),
        }),
      );
      return Failed.map((failure) => chunk[Number(failure.Id)]);
    } catch (error) {
      // the whole batch is unsent; the caller decides what that means for each job
      if (!isUnavailable(error)) throw error;
      return [...chunk];
    }
  }

  async sendToDeadLetter(message: JobMessage): Promise<void> {
    try {
      await this.sqs.send(
        new SendMessageCommand({
          QueueUrl: this.props.deadLetterQueueUrl,
          MessageBody: encodeMessage({ ...message, deadLettered: true }),
        }),
      );
    } catch (error) {
      rethrowSdkError(error, 'SQS');
    }
  }

  async sweepDeadLetters(isStale: (message: JobMessage) => Promise<boolean>, maxMessages: number): Promise<number> {
    const queueUrl = this.props.deadLetterQueueUrl;
    const kept: Message[] = [];
    let deleted = 0;
    let seen = 0;
    try {
      while (seen < maxMessages) {
        // held for the sweep's duration only; kept ones are released at the end
        const { Messages = [] } = await this.sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: BATCH, VisibilityTimeout: 60, WaitTimeSeconds: 0 }),
        );
        if (Messages.length === 0) break;
        seen += Messages.length;
        // the batch's jobs are read side by side
        const verdicts = await Promise.all(
          Messages.map(async (m) => {
            const message = parseJobMessage(m.Body ?? '');
            return message !== undefined && (await isStale(message));
          }),
        );
        const stale = Messages.filter((_, i) => verdicts[i]);
        kept.push(...Messages.filter((_, i) => !verdicts[i]));
        if (stale.length > 0) {
          await this.sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: stale.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
            }),
          );
          deleted += stale.length;
        }
      }
    } finally {
      for (let i = 0; i < kept.length; i += BATCH) {
        await this.sqs
          .send(
            new ChangeMessageVisibilityBatchCommand({
              QueueUrl: queueUrl,
              Entries: kept.slice(i, i + BATCH).map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0 })),
            }),
          )
          .catch(() => undefined); // they come back by themselves after 60 s
      }
    }
    return deleted;
  }

  async hide(messages: readonly HiddenMessage[]): Promise<void> {
    try {
      for (let i = 0; i < messages.length; i += BATCH) {
        const entries = messages.slice(i, i + BATCH);
        const { Failed = [] } = await this.sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: this.props.queueUrl,
            Entries: entries.map((m, j) => ({
              Id: String(j),
              ReceiptHandle: m.receiptHandle,
              VisibilityTimeout: toSeconds(m.delayMs, MAX_VISIBILITY_SECONDS),
            })),
          }),
        );
        if (Failed.length > 0) throw new Error(`SQS did not hide ${Failed.length} message(s): ${Failed[0].Code} ${Failed[0].Message ?? ''}`.trim());
      }
    } catch (error) {
      rethrowSdkError(error, 'SQS');
    }
  }

  async depths(): Promise<{ main: QueueDepth; deadLetter: QueueDepth }> {
    const [main, deadLetter] = await Promise.all([
      this.depth(this.props.queueUrl),
      this.depth(this.props.deadLetterQueueUrl),
    ]);
    return { main, deadLetter };
  }

  private async depth(queueUrl: string): Promise<QueueDepth> {
    try {
      const { Attributes = {} } = await this.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: queueUrl,
          AttributeNames: [
            'ApproximateNumberOfMessages',
            'ApproximateNumberOfMessagesNotVisible',
            'ApproximateNumberOfMessagesDelayed',
          ],
        }),
      );
      return {
        visible: Number(Attributes.ApproximateNumberOfMessages ?? 0),
        inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
        delayed: Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0),
      };
    } catch (error) {
      return rethrowSdkError(error, 'SQS');
    }
  }
}

/** The tasks queue: one message wakes a runner for one chunk of a retry task. */
export class SqsTaskQueue implements TaskQueue {
  private readonly sqs: SQSClient;

  constructor(private readonly props: { readonly taskQueueUrl: string; readonly client?: SQSClient }) {
    this.sqs = props.client ?? createSqsClient({ cacheMiddleware: true });
  }

  async sendTask(taskId: string, delayMs = 0): Promise<void> {
    try {
      await this.sqs.send(
        new SendMessageCommand({
          QueueUrl: this.props.taskQueueUrl,
          MessageBody: JSON.stringify({ taskId }),
          DelaySeconds: toSeconds(delayMs, MAX_DELAY_SECONDS),
        }),
      );
    } catch (error) {
      rethrowSdkError(error, 'SQS');
    }
  }
}
