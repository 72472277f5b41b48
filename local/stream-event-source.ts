import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListStreamsCommand,
  type AttributeValue,
  type DynamoDBStreamsClient,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { AttributeValue as LambdaAttributeValue, Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { matchesPattern } from '../lambda/adapters/dynamodb-job-stream';
import type { EventPattern } from '../lambda/routes';
import { invokeWithTimeout } from './lambda-context';

/**
 * An emulation of Lambda's DynamoDB stream event source mapping, reading the
 * stream dynalite keeps (dynalite-streams.ts) through the DynamoDB Streams
 * API: it gathers up to `batchSize` records, for at most `batchingWindowMs`
 * after the first, drops those the filter does not match (a batch matching
 * none is not invoked), invokes the function with the rest in Lambda's
 * DynamoDBStreamEvent shape, and tries the same batch again until it succeeds
 * (MaximumRetryAttempts -1), never going past a record it could not deliver.
 *
 * After each success it checkpoints the last sequence number it handled in
 * `checkpointFile`, written whole or not at all (a new file renamed over the
 * old), and before an invocation it notes the batch it is about to deliver:
 * a process killed between the two delivers that very batch again at the next
 * start, as Lambda retries a batch whose invocation it lost. The stream's
 * function must therefore take a batch twice as once (count-job-changes does
 * for one batch, by its first sequence number).
 *
 * Differences from AWS: one poller for the stream's one shard; the window is
 * the local runtime's (shorter than the stack's, so local metrics lag less);
 * the first start reads from the stream's oldest record (TRIM_HORIZON), and a
 * checkpoint is kept across restarts, where AWS keeps its mapping's position.
 */

export type StreamHandler = (event: DynamoDBStreamEvent, context: Context) => Promise<unknown>;

export interface StreamEventSourceOptions {
  readonly streams: DynamoDBStreamsClient;
  readonly tableName: string;
  readonly region: string;
  /** The mapping's filter: records that do not match are skipped. */
  readonly filter: EventPattern;
  readonly batchSize: number;
  readonly batchingWindowMs: number;
  readonly handler: StreamHandler;
  readonly functionName: string;
  readonly timeoutMs: number;
  /** Where the position is kept; in memory when absent (a test's emulator that keeps nothing either). */
  readonly checkpointFile?: string;
  /** Wait between reads that found nothing new. @default 100 */
  readonly idleMs?: number;
  /** @default stderr */
  readonly logError?: (message: string) => void;
}

export interface StreamEventSource {
  /**
   * Resolves once every record written before the call is handed to the function (or skipped by the filter);
   * rejects if the source stops first.
   */
  caughtUp(): Promise<void>;
  /** Stop reading; resolves when a batch in flight is done (or, if it keeps failing, left for the next start). */
  stop(): Promise<void>;
}

/** The position: records up to `after` are handled; `batch`, if present, is being delivered: `after` to `last`. */
interface Checkpoint {
  readonly after?: string;
  readonly batch?: { readonly last: string };
}

const describe = (error: unknown): string => (error instanceof Error ? (error.stack ?? error.message) : String(error));

const readCheckpoint = (file: string | undefined): Checkpoint => {
  if (!file) return {};
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Checkpoint;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
};

const writeCheckpoint = (file: string | undefined, checkpoint: Checkpoint): void => {
  if (!file) return;
  mkdirSync(path.dirname(file), { recursive: true });
  const staging = `${file}.tmp`;
  writeFileSync(staging, JSON.stringify(checkpoint));
  renameSync(staging, file);
};

/** An attribute value as Lambda's event carries it: binary as base64, numbers as strings. */
const toLambdaValue = (value: AttributeValue): LambdaAttributeValue => {
  if (value.B !== undefined) return { B: Buffer.from(value.B).toString('base64') };
  if (value.BS !== undefined) return { BS: value.BS.map((b) => Buffer.from(b).toString('base64')) };
  if (value.M !== undefined) return { M: toLambdaImage(value.M) };
  if (value.L !== undefined) return { L: value.L.map(toLambdaValue) };
  const { $unknown: _unknown, ...rest } = value as AttributeValue & { $unknown?: unknown };
  return rest as LambdaAttributeValue;
};
const toLambdaImage = (image: Record<string, AttributeValue>): Record<string, LambdaAttributeValue> =>
  Object.fromEntries(Object.entries(image).map(([name, value]) => [name, toLambdaValue(value)]));

/** The record Lambda builds from one stream record. */
export const toLambdaRecord = (record: StreamRecord, streamArn: string): DynamoDBRecord => {
  const { dynamodb = {} } = record;
  return {
    eventID: record.eventID,
    eventName: record.eventName as DynamoDBRecord['eventName'],
    eventVersion: record.eventVersion,
    eventSource: record.eventSource,
    awsRegion: record.awsRegion,
    eventSourceARN: streamArn,
    ...(record.userIdentity ? { userIdentity: { type: record.userIdentity.Type, principalId: record.userIdentity.PrincipalId } } : {}),
    dynamodb: {
      ...(dynamodb.ApproximateCreationDateTime ? { ApproximateCreationDateTime: Math.floor(dynamodb.ApproximateCreationDateTime.getTime() / 1000) } : {}),
      ...(dynamodb.Keys ? { Keys: toLambdaImage(dynamodb.Keys) } : {}),
      ...(dynamodb.NewImage ? { NewImage: toLambdaImage(dynamodb.NewImage) } : {}),
      ...(dynamodb.OldImage ? { OldImage: toLambdaImage(dynamodb.OldImage) } : {}),
      SequenceNumber: dynamodb.SequenceNumber,
      SizeBytes: dynamodb.SizeBytes,
      StreamViewType: dynamodb.StreamViewType as NonNullable<DynamoDBRecord['dynamodb']>['StreamViewType'],
    },
  };
};

export const startStreamEventSource = (options: StreamEventSourceOptions): StreamEventSource => {
  const { streams, filter, batchSize, batchingWindowMs, checkpointFile, idleMs = 100 } = options;
  const logError = options.logError ?? ((message: string) => process.stderr.write(`${message}\n`));
  const fn = { functionName: options.functionName, timeoutMs: options.timeoutMs, region: options.region };
  const controller = new AbortController();
  const { signal } = controller;
  let checkpoint = readCheckpoint(checkpointFile);
  /** Waiters for `caughtUp`: each is resolved by the first read that comes back empty after it began. */
  let waiters: ((stopped?: boolean) => void)[] = [];
  /** Waiters whose empty read came while a batch was gathered: resolved once it is delivered. */
  const afterBatch: ((stopped?: boolean) => void)[] = [];

  const pause = (ms: number) => sleep(ms, undefined, { signal }).catch(() => undefined);

  const streamArnOf = async (): Promise<string> => {
    const { Streams = [] } = await streams.send(new ListStreamsCommand({ TableName: options.tableName }), { abortSignal: signal });
    const arn = Streams[0]?.StreamArn;
    if (!arn) throw new Error(`The table ${options.tableName} has no stream`);
    return arn;
  };

  /** The stream's one shard (dynalite-streams.ts keeps one a table), found once per stream. */
  const shards = new Map<string, string>();
  const iteratorAfter = async (streamArn: string, after: string | undefined): Promise<string> => {
    if (!shards.has(streamArn)) {
      const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }), { abortSignal: signal });
      shards.set(streamArn, StreamDescription!.Shards![0]!.ShardId!);
    }
    const { ShardIterator } = await streams.send(
      new GetShardIteratorCommand({
        StreamArn: streamArn,
        ShardId: shards.get(streamArn),
        ...(after ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: after } : { ShardIteratorType: 'TRIM_HORIZON' }),
      }),
      { abortSignal: signal },
    );
    return ShardIterator!;
  };

  /** Deliver `records` until the function takes them; resolves false if stopped first. */
  const deliver = async (records: readonly DynamoDBRecord[]): Promise<boolean> => {
    for (let failures = 0; ; failures++) {
      try {
        await invokeWithTimeout(fn, (context) => options.handler({ Records: [...records] }, context));
        return true;
      } catch (error) {
        if (failures === 0) logError(`${fn.functionName}: the invocation failed; the batch of ${records.length} record(s) is tried again\n${describe(error)}`);
        await pause(Math.min(100 * 2 ** failures, 5_000));
        if (signal.aborted) return false;
      }
    }
  };

  const run = async (): Promise<void> => {
    let errors = 0;
    while (!signal.aborted) {
      try {
        const streamArn = await streamArnOf();
        let iterator = await iteratorAfter(streamArn, checkpoint.after);
        for (;;) {
          const batch: StreamRecord[] = [];
          // a batch noted before a stop that did not finish it is delivered again, to its last record
          const until = checkpoint.batch?.last;
          let windowEnds = Number.POSITIVE_INFINITY;
          for (;;) {
            const before = waiters;
            waiters = [];
            let records: StreamRecord[];
            try {
              const page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: batchSize - batch.length }), {
                abortSignal: signal,
              });
              iterator = page.NextShardIterator!;
              records = page.Records ?? [];
            } catch (error) {
              waiters.unshift(...before);
              throw error;
            }
            // a read that began after a waiter and found nothing new: the waiter is caught up once the batch is in
            if (records.length > 0) waiters.unshift(...before);
            else if (batch.length > 0) afterBatch.push(...before);
            else for (const resolve of before) resolve();
            const cut = until === undefined ? -1 : records.findIndex((r) => BigInt(r.dynamodb!.SequenceNumber!) > BigInt(until));
            batch.push(...(cut < 0 ? records : records.slice(0, cut)));
            if (batch.length > 0 && windowEnds === Number.POSITIVE_INFINITY) windowEnds = Date.now() + batchingWindowMs;
            // a noted batch ends at its last record (or, should that be gone, at the first record after it)
            if (until !== undefined && (cut >= 0 || batch.at(-1)?.dynamodb?.SequenceNumber === until)) break;
            if (batch.length >= batchSize || (until === undefined && Date.now() >= windowEnds)) break;
            if (records.length === 0) await pause(Math.min(idleMs, Math.max(0, windowEnds - Date.now())));
            if (signal.aborted) return;
          }
          if (batch.length === 0) {
            checkpoint = { after: checkpoint.after };
            iterator = await iteratorAfter(streamArn, checkpoint.after);
            continue;
          }
          const last = batch.at(-1)!.dynamodb!.SequenceNumber!;
          const matched = batch.map((record) => toLambdaRecord(record, streamArn)).filter((record) => matchesPattern(record, filter));
          if (matched.length > 0) {
            checkpoint = { ...checkpoint, batch: { last } };
            writeCheckpoint(checkpointFile, checkpoint);
            if (!(await deliver(matched))) return;
          }
          checkpoint = { after: last };
          writeCheckpoint(checkpointFile, checkpoint);
          // a new iterator from the checkpoint: it tells the local stream the records up to it may go (AWS trims by
          // age); and the read that ended a batch noted before a stop may have gone past its last record
          iterator = await iteratorAfter(streamArn, last);
          for (const resolve of afterBatch.splice(0)) resolve();
          errors = 0;
        }
      } catch (error) {
        if (signal.aborted) return;
        errors += 1;
        if (errors === 1) logError(`${fn.functionName}: reading the stream of ${options.tableName} failed, retrying\n${describe(error)}`);
        await pause(Math.min(200 * 2 ** errors, 5_000));
      }
    }
  };

  const running = run();
  return {
    caughtUp: () =>
      new Promise<void>((resolve, reject) =>
        waiters.push((stopped) => (stopped ? reject(new Error(`${fn.functionName}: stopped before it caught up with the stream`)) : resolve())),
      ),
    stop: async () => {
      controller.abort();
      await running;
      for (const settle of [...waiters, ...afterBatch.splice(0)]) settle(true);
    },
  };
};
