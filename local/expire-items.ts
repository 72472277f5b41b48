import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DeleteItemCommandInput,
  type DynamoDBClient,
  ScanCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { JOB_TABLE } from '../lambda/adapters/table-schema';

/**
 * The stand-in for DynamoDB's Time to Live, which dynalite lacks: it deletes
 * the items whose `expiresAt` (epoch seconds) has passed, as TTL's own process
 * does, marked as TTL's deletes are (see `expiryDelete`). Like every change of
 * a job, each delete reaches the table's stream (local/dynalite-streams.ts),
 * from which the counting function takes the expired jobs out of the counts,
 * as on AWS.
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
  /** @default Date.now */
  readonly now?: () => number;
  /** Keys read per Scan page. @default 1000 */
  readonly pageSize?: number;
}

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

/** One pass: delete what has expired. Resolves with the items deleted. */
export const expireItems = async (options: ExpireItemsOptions): Promise<number> => {
  const { dynamodb, tableName, now = Date.now, pageSize = 1000 } = options;
  const { partitionKey: PK, sortKey: SK, timeToLiveAttribute: TTL } = JOB_TABLE;
  const nowSeconds = { N: String(Math.floor(now() / 1000)) };
  let deleted = 0;
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
        await dynamodb.send(
          expiryDelete({
            TableName: tableName,
            Key: keys,
            ConditionExpression: '#ttl <= :now',
            ExpressionAttributeNames: { '#ttl': TTL },
            ExpressionAttributeValues: { ':now': nowSeconds },
          }),
        );
        deleted++;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
  } while (startKey);
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
