/**
 * The floor every other rate is compared with: conditional UpdateItems at
 * the bench's concurrency, on the very dynalite (and table) the runtime uses.
 *
 * On two kinds of item, 1,000 of each:
 * - `job`, the floor: failed jobs as retry-all finds them (built by the core
 *   transitions and the adapter's `toItem`, as bench/seed.ts builds them),
 *   with both their index entries, in index partitions no listing or count
 *   reads. One conditional UpdateItem of a job is the least a retry costs,
 *   and a job operation writes no smaller item: on this table every write
 *   of a job rewrites its index entries too.
 * - `small`: a key and a number, no index entry. The cost of the request
 *   alone, told apart from what a job's size and indexes add to it.
 */
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DynamoDbDocuments } from '../lambda/adapters/dynamodb-documents';
import { toItem } from '../lambda/adapters/dynamodb-job-item';
import { JOB_TABLE } from '../lambda/adapters/table-schema';
import { now, perSecond, runConcurrently } from './load';
import { failedJob, RETENTION_MS } from './seed';

const ITEMS = 1_000;
/** Untimed updates before each measure: the JIT and LevelDB settle first. */
export const FLOOR_WARM_UP = 1_000;
/** The index partitions of the job-shaped floor items: not a state's, not a job name's. */
const FLOOR_PARTITION = 'BENCH#FLOOR';

export type FloorItems = 'job' | 'small';

export const FLOOR_ITEMS: Record<FloorItems, string> = {
  job: 'failed-job items (each with its two index entries)',
  small: 'small items (no index entry)',
};

const floorKey = (items: FloorItems, i: number) => ({
  [JOB_TABLE.partitionKey]: `BENCH#FLOOR#${items}#${i % ITEMS}`,
  [JOB_TABLE.sortKey]: 'FLOOR',
});

const floorItem = (items: FloorItems, i: number, at: number): Record<string, unknown> => {
  if (items === 'small') return { ...floorKey(items, i), n: 0 };
  return {
    ...toItem(failedJob(i, at), RETENTION_MS),
    ...floorKey(items, i),
    [JOB_TABLE.stateIndex.partitionKey]: FLOOR_PARTITION,
    [JOB_TABLE.failedByNameIndex.partitionKey]: FLOOR_PARTITION,
    n: 0,
  };
};

export const createFloorItems = async (doc: DynamoDBDocumentClient, tableName: string): Promise<void> => {
  const at = Date.now();
  for (const items of ['job', 'small'] as const) {
    await runConcurrently(Math.ceil(ITEMS / 25), 8, async (b) => {
      const requests = Array.from({ length: Math.min(25, ITEMS - b * 25) }, (_, k) => ({
        PutRequest: { Item: floorItem(items, b * 25 + k, at + b * 25 + k) },
      }));
      await doc.send(new BatchWriteCommand({ RequestItems: { [tableName]: requests } }));
    });
  }
};

export interface Floor {
  /** When in the run it was measured. */
  readonly when: string;
  readonly items: FloorItems;
  readonly updates: number;
  readonly concurrency: number;
  readonly ms: number;
  readonly perSecond: number;
}

/**
 * `updates` conditional UpdateItems spread over the floor items, `concurrency` at a time, after untimed ones to warm
 * up. Sent through `db`: the runtime's own document layer on a client with cached middleware, so that the floor's
 * client costs no more a request than the handlers' do.
 */
export const measureFloor = async (
  db: DynamoDbDocuments,
  tableName: string,
  items: FloorItems,
  updates: number,
  concurrency: number,
  when: string,
): Promise<Floor> => {
  const update = (i: number) =>
    db
      .update({
        TableName: tableName,
        Key: floorKey(items, i),
        UpdateExpression: 'SET #n = :v',
        ConditionExpression: 'attribute_exists(#pk)',
        ExpressionAttributeNames: { '#n': 'n', '#pk': JOB_TABLE.partitionKey },
        ExpressionAttributeValues: { ':v': i },
      })
      .then(() => undefined);
  await runConcurrently(Math.min(FLOOR_WARM_UP, updates), concurrency, update);
  const start = now();
  const ms = await runConcurrently(updates, concurrency, update);
  return { when, items, updates, concurrency, ms, perSecond: perSecond(updates, now() - start) };
};
