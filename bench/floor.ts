/**
 * The floor every other rate is compared with: conditional UpdateItems of
 * small existing items, at the bench's concurrency, on the very dynalite (and
 * table) the runtime uses. No job operation can be cheaper than one of them.
 *
 * The items carry no index keys, so no listing or count ever sees them.
 */
import { BatchWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { JOB_TABLE } from '../lambda/adapters/table-schema';
import { now, perSecond, runConcurrently } from './load';

const ITEMS = 1_000;
/** Untimed updates before each measure: the JIT and LevelDB settle first. */
export const FLOOR_WARM_UP = 1_000;

const floorKey = (i: number) => ({ [JOB_TABLE.partitionKey]: `BENCH#FLOOR#${i % ITEMS}`, [JOB_TABLE.sortKey]: 'FLOOR' });

export const createFloorItems = async (doc: DynamoDBDocumentClient, tableName: string): Promise<void> => {
  await runConcurrently(Math.ceil(ITEMS / 25), 8, async (b) => {
    const requests = Array.from({ length: Math.min(25, ITEMS - b * 25) }, (_, k) => ({
      PutRequest: { Item: { ...floorKey(b * 25 + k), n: 0 } },
    }));
    await doc.send(new BatchWriteCommand({ RequestItems: { [tableName]: requests } }));
  });
};

export interface Floor {
  /** When in the run it was measured. */
  readonly when: string;
  readonly updates: number;
  readonly concurrency: number;
  readonly ms: number;
  readonly perSecond: number;
}

/** `updates` conditional UpdateItems spread over the floor items, `concurrency` at a time, after untimed ones to warm up. */
export const measureFloor = async (
  doc: DynamoDBDocumentClient,
  tableName: string,
  updates: number,
  concurrency: number,
  when: string,
): Promise<Floor> => {
  const update = (i: number) =>
    doc
      .send(
        new UpdateCommand({
          TableName: tableName,
          Key: floorKey(i),
          UpdateExpression: 'SET #n = :v',
          ConditionExpression: 'attribute_exists(#pk)',
          ExpressionAttributeNames: { '#n': 'n', '#pk': JOB_TABLE.partitionKey },
          ExpressionAttributeValues: { ':v': i },
        }),
      )
      .then(() => undefined);
  await runConcurrently(Math.min(FLOOR_WARM_UP, updates), concurrency, update);
  const start = now();
  const ms = await runConcurrently(updates, concurrency, update);
  return { when, updates, concurrency, ms, perSecond: perSecond(updates, now() - start) };
};
