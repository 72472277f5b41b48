import { randomUUID } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DeleteItemCommandInput,
  type DynamoDBClient,
  ScanCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { matchesPattern } from '../lambda/adapters/dynamodb-job-stream';
import { JOB_TABLE } from '../lambda/adapters/table-schema';
import type { EventPattern } from '../lambda/routes';
import { LOCAL_ACCOUNT_ID } from './lambda-context';

/**
 * The stand-in for DynamoDB's Time to Live, which dynalite lacks: it deletes
 * the items whose `expiresAt` (epoch seconds) has passed, as TTL's own process
 * does, and hands the records of those deletes, shaped as DynamoDB Streams
 * delivers them (REMOVE, the TTL service's userIdentity, the old image), to
 * the stream's consumer through the event source mapping's filter: the
 * counts go down by the very code that takes them down on AWS.
 *
 * It finds them with a Scan of the local table, filtered on `expiresAt` and
 * projected to the keys. On AWS a Scan reads (and bills) every item, which is
 * why requeue never scans there; here dynalite bills nothing and has no
 * partition limits, expiring items are of several kinds (finished jobs,
 * throughput minutes, finished tasks) that no one index holds, and an index
 * kept for this would cost every job two more index writes on AWS, where TTL
 * needs none. It runs rarely (TTL itself takes up to days) and reads pages
 * of keys, between which the runtime serves requests.
 */

export interface ExpireItemsOptions {
  readonly dynamodb: DynamoDBClient;
  readonly tableName: string;
  readonly region: string;
  /** The event source mapping's filter (EXPIRY_COUNTER.filter): only matching records reach the consumer. */
  readonly filter: EventPattern;
  /** Records per invocation of the consumer. */
  readonly batchSize: number;
  /** The stream's consumer; a batch it fails is handed to it again, as the stream does. */
  readonly consumer: (event: DynamoDBStreamEvent) => Promise<unknown>;
  /** @default Date.now */
  readonly now?: () => number;
  /** Keys read per Scan page. @default 1000 */
  readonly pageSize?: number;
}

/** Tries of one batch before it is given up (the stream would go on for 24 hours). */
const CONSUMER_TRIES = 5;

const TTL_IDENTITY = { type: 'Service', principalId: 'dynamodb.amazonaws.com' };

let sequence = 0;

/**
 * A DeleteItem marked as the stand-in's: dynalite's stream (dynalite-streams.ts) gives its record the TTL
 * service's `userIdentity`, as DynamoDB does for the deletes of its TTL process.
 */
export const expiryDelete = (input: DeleteItemCommandInput): DeleteItemCommand => {
  const command = new DeleteItemCommand(input);
  command.middlewareStack.add(
    (next) => (args) => {
      (args.request as { headers: Record<string, string> }).headers['x-requeue-time-to-live'] = 'expired';
      return next(args);
    },
    { step: 'build', name: 'markExpiryDelete' },
  );
  return command;
};

const removalRecord = (
  { tableName, region }: Pick<ExpireItemsOptions, 'tableName' | 'region'>,
  keys: Record<string, AttributeValue>,
  oldImage: Record<string, AttributeValue>,
  at: number,
): DynamoDBRecord => ({
  eventID: randomUUID().replaceAll('-', ''),
  eventName: 'REMOVE',
  eventVersion: '1.1',
  eventSource: 'aws:dynamodb',
  awsRegion: region,
  eventSourceARN: `arn:aws:dynamodb:${region}:${LOCAL_ACCOUNT_ID}:table/${tableName}/stream/local`,
  userIdentity: TTL_IDENTITY,
  dynamodb: {
    ApproximateCreationDateTime: Math.floor(at / 1000),
    Keys: keys as never,
    OldImage: oldImage as never,
    SequenceNumber: String(++sequence).padStart(21, '0'),
    SizeBytes: Buffer.byteLength(JSON.stringify(oldImage)),
    StreamViewType: 'OLD_IMAGE',
  },
});

/** One pass: delete what has expired, feed the consumer. Resolves with the items deleted. */
export const expireItems = async (options: ExpireItemsOptions): Promise<number> => {
  const { dynamodb, tableName, filter, batchSize, consumer, now = Date.now, pageSize = 1000 } = options;
  const { partitionKey: PK, sortKey: SK, timeToLiveAttribute: TTL } = JOB_TABLE;
  const nowSeconds = { N: String(Math.floor(now() / 1000)) };
  let deleted = 0;
  let pending: DynamoDBRecord[] = [];
  const deliver = async (records: DynamoDBRecord[]) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await consumer({ Records: records });
        return;
      } catch (error) {
        if (attempt === CONSUMER_TRIES) throw error;
      }
    }
  };
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await dynamodb.send(
      new ScanCommand({
        TableName: tableName,
        ProjectionExpression: '#pk, #sk',
        FilterExpression: '#ttl <= :now',
        ExpressionAttributeNames: { '#pk': PK, '#sk': SK, '#ttl': TTL },
        ExpressionAttributeValues: { ':now': nowSeconds },
        Limit: pageSize,
        ExclusiveStartKey: startKey,
      }),
    );
    startKey = page.LastEvaluatedKey;
    for (const keys of page.Items ?? []) {
      try {
        // TTL deletes an item only while it is still expired: a write since may have moved its expiry on
        const { Attributes } = await dynamodb.send(
          expiryDelete({
            TableName: tableName,
            Key: keys,
            ConditionExpression: '#ttl <= :now',
            ExpressionAttributeNames: { '#ttl': TTL },
            ExpressionAttributeValues: { ':now': nowSeconds },
            ReturnValues: 'ALL_OLD',
          }),
        );
        deleted++;
        const record = removalRecord(options, keys, Attributes ?? keys, now());
        if (matchesPattern(record, filter)) pending.push(record);
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
      if (pending.length >= batchSize) {
        await deliver(pending);
        pending = [];
      }
    }
  } while (startKey);
  if (pending.length > 0) await deliver(pending);
  return deleted;
};

export interface Expiry {
  /** Stop the timer; resolves when a pass in progress is done. */
  stop(): Promise<void>;
}

/** A pass every `periodMs`, never two at once; a failed pass is reported and the next one tries again. */
export const startExpiry = (
  options: ExpireItemsOptions & { readonly periodMs: number; readonly logError?: (message: string) => void },
): Expiry => {
  const logError = options.logError ?? ((message: string) => process.stderr.write(`${message}\n`));
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const next = () => {
    timer = setTimeout(() => {
      running = expireItems(options)
        .then(
          () => undefined,
          (error: unknown) => logError(`Expiring items (the local stand-in for TTL) failed:\n${(error as Error).stack ?? String(error)}`),
        )
        .finally(() => {
          if (!stopped) next();
        });
    }, options.periodMs);
  };
  next();
  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
};
