import { setTimeout as sleep } from 'node:timers/promises';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type Message,
  type MessageAttributeValue,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSMessageAttributes, SQSRecord } from 'aws-lambda';
import { invokeWithTimeout } from './lambda-context';

/**
 * An emulation of Lambda's SQS event-source mapping with
 * ReportBatchItemFailures: long-poll the queue, hand each batch to the
 * function, delete what it handled. A message it did not delete comes back
 * after the queue's visibility timeout (or sooner, if the function changed it).
 */

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void> | SQSBatchResponse | void;

export interface EventSourceOptions {
  readonly sqs: SQSClient;
  /**
   * For the deletes: a receive, sent with an abort signal, can use no cached
   * middleware and clears the cache of its client, so the deletes are cheaper
   * on a client of their own with `cacheMiddleware`.
   * @default sqs
   */
  readonly deleteSqs?: SQSClient;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly region: string;
  readonly handler: SqsHandler;
  readonly functionName: string;
  /** The function's timeout; keep it within the queue's visibility timeout. */
  readonly timeoutMs: number;
  /** Pollers running side by side, each invoking the function on its own batches. @default 2 */
  readonly concurrency?: number;
  /** @default 10 */
  readonly batchSize?: number;
  /** Long-poll wait. @default 20 */
  readonly waitTimeSeconds?: number;
  /** @default stderr */
  readonly logError?: (message: string) => void;
}

export interface EventSource {
  /** Batches the function is working on now. */
  readonly inFlight: number;
  /** Stop polling at once; resolves when the batches in flight are done. */
  stop(): Promise<void>;
  /**
   * Stop polling without losing a message to a receive cut short: the
   * receives under way finish (a long poll, up to its wait), and what they
   * bring is made visible again at once rather than handed to the function.
   * Resolves when they have and the batches in flight are done.
   */
  drain(): Promise<void>;
}

const toLambdaAttribute = (value: MessageAttributeValue): SQSMessageAttributes[string] => ({
  ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
  ...(value.BinaryValue !== undefined ? { binaryValue: Buffer.from(value.BinaryValue).toString('base64') } : {}),
  stringListValues: value.StringListValues ?? [],
  binaryListValues: (value.BinaryListValues ?? []).map((v) => Buffer.from(v).toString('base64')),
  dataType: value.DataType ?? 'String',
});

/** The record Lambda builds from one received message. */
export const toSqsRecord = (message: Message, queueArn: string, region: string): SQSRecord => ({
  messageId: message.MessageId!,
  receiptHandle: message.ReceiptHandle!,
  body: message.Body ?? '',
  attributes: { ...message.Attributes } as SQSRecord['attributes'],
  messageAttributes: Object.fromEntries(
    Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [name, toLambdaAttribute(value)]),
  ),
  ...(message.MD5OfMessageAttributes ? { md5OfMessageAttributes: message.MD5OfMessageAttributes } : {}),
  md5OfBody: message.MD5OfBody ?? '',
  eventSource: 'aws:sqs',
  eventSourceARN: queueArn,
  awsRegion: region,
});

/**
 * Which records to delete after the function answered, by Lambda's rules: a
 * missing or empty `batchItemFailures` means all succeeded; an identifier that
 * is empty or names no record of the batch fails the whole batch.
 */
export const recordsToDelete = (records: readonly SQSRecord[], response: unknown): readonly SQSRecord[] => {
  const failures = (response as Partial<SQSBatchResponse> | null | undefined)?.batchItemFailures;
  if (failures === undefined || failures === null) return records;
  if (!Array.isArray(failures)) return [];
  const ids = new Set(records.map((r) => r.messageId));
  const failed = new Set<string>();
  for (const failure of failures as unknown[]) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || !ids.has(id)) return [];
    failed.add(id);
  }
  return records.filter((r) => !failed.has(r.messageId));
};

const describe = (error: unknown): string => (error instanceof Error ? (error.stack ?? error.message) : String(error));

export const startEventSource = (options: EventSourceOptions): EventSource => {
  const {
    sqs,
    queueUrl,
    concurrency = 2,
    batchSize = 10,
    waitTimeSeconds = 20,
    logError = (message: string) => process.stderr.write(`${message}\n`),
  } = options;
  const controller = new AbortController();
  const { signal } = controller;
  const fn = { functionName: options.functionName, timeoutMs: options.timeoutMs, region: options.region };

  const deleteHandled = async (records: readonly SQSRecord[]): Promise<void> => {
    if (records.length === 0) return;
    const { Failed = [] } = await (options.deleteSqs ?? sqs).send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: records.map((record, i) => ({ Id: String(i), ReceiptHandle: record.receiptHandle })),
      }),
    );
    for (const failure of Failed) {
      logError(`${fn.functionName}: could not delete message ${records[Number(failure.Id)]?.messageId}: ${failure.Message}`);
    }
  };

  const invokeAndDelete = async (messages: readonly Message[]): Promise<void> => {
    const records = messages.map((m) => toSqsRecord(m, options.queueArn, options.region));
    let response: unknown;
    try {
      response = await invokeWithTimeout(fn, (context) => options.handler({ Records: records }, context));
    } catch (error) {
      // Lambda deletes nothing of a failed invocation: the whole batch comes back
      logError(`${fn.functionName}: the invocation failed; ${records.length} message(s) will be received again\n${describe(error)}`);
      return;
    }
    try {
      await deleteHandled(recordsToDelete(records, response));
    } catch (error) {
      logError(`${fn.functionName}: could not delete handled messages\n${describe(error)}`);
    }
  };

  let inFlight = 0;
  const runBatch = async (messages: readonly Message[]): Promise<void> => {
    inFlight += 1;
    try {
      await invokeAndDelete(messages);
    } finally {
      inFlight -= 1;
    }
  };

  /** Set by drain(): the pollers end after their receive, which is not cut short. */
  let draining = false;

  const release = async (messages: readonly Message[]): Promise<void> => {
    try {
      await sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queueUrl,
          Entries: messages.map((message, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle!, VisibilityTimeout: 0 })),
        }),
      );
    } catch (error) {
      logError(`${fn.functionName}: could not return ${messages.length} message(s) to the queue; they come back after its visibility timeout\n${describe(error)}`);
    }
  };

  const poll = async (): Promise<void> => {
    let errors = 0;
    while (!signal.aborted && !draining) {
      let messages: Message[];
      try {
        const received = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: batchSize,
            WaitTimeSeconds: waitTimeSeconds,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: signal },
        );
        messages = received.Messages ?? [];
        errors = 0;
      } catch (error) {
        if (signal.aborted || draining) return;
        errors += 1;
        if (errors === 1) logError(`${fn.functionName}: ReceiveMessage failed, retrying\n${describe(error)}`);
        await sleep(Math.min(200 * 2 ** errors, 5_000), undefined, { signal }).catch(() => undefined);
        continue;
      }
      if (messages.length === 0) continue;
      if (draining) await release(messages);
      else await runBatch(messages);
    }
  };

  const pollers = Array.from({ length: concurrency }, () => poll());
  return {
    get inFlight() {
      return inFlight;
    },
    stop: async () => {
      controller.abort();
      await Promise.all(pollers);
    },
    drain: async () => {
      draining = true;
      await Promise.all(pollers);
    },
  };
};
