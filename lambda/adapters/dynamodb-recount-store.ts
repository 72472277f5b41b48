import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { StateConflictError } from '../core/errors';
import type { RecountStore, RecountTask } from '../core/recount-jobs';
import { rethrowSdkError } from './dependency-errors';
import { DynamoDbDocuments } from './dynamodb-documents';
import { queryPages } from './dynamodb-query-pages';
import { JOB_TABLE } from './table-schema';

const { partitionKey: PK, sortKey: SK, stateIndex, timeToLiveAttribute } = JOB_TABLE;

/** Finished recounts are kept this long. */
const RETENTION_S = 30 * 24 * 60 * 60;

/**
 * Items: pk `RECOUNT#<id>`, sk `RECOUNT`. A running recount is in the
 * `byState` index under `RECOUNT#RUNNING`, sorted by its last update, so the
 * reconciler finds one whose runner died without a Scan.
 */
const RUNNING_PARTITION = 'RECOUNT#RUNNING';
/** The index's sort keys are strings (see table-schema.ts): a time in 15 digits sorts as the number does. */
const updatedKey = (at: number) => String(Math.max(0, at)).padStart(15, '0');
const recountKey = (id: string) => ({ [PK]: `RECOUNT#${id}`, [SK]: 'RECOUNT' });

const toItem = (task: RecountTask): Record<string, unknown> => ({
  ...task,
  ...recountKey(task.id),
  [stateIndex.partitionKey]: task.status === 'RUNNING' ? RUNNING_PARTITION : undefined,
  [stateIndex.sortKey]: task.status === 'RUNNING' ? updatedKey(task.updatedAt) : undefined,
  [timeToLiveAttribute]: task.finishedAt ? Math.ceil(task.finishedAt / 1000) + RETENTION_S : undefined,
});

const fromItem = (item: Record<string, unknown>): RecountTask => {
  const {
    [PK]: _pk,
    [SK]: _sk,
    [stateIndex.partitionKey]: _spk,
    [stateIndex.sortKey]: _ssk,
    [timeToLiveAttribute]: _ttl,
    ...task
  } = item;
  return task as unknown as RecountTask;
};

export class DynamoDbRecountStore implements RecountStore {
  private readonly db: DynamoDbDocuments;

  constructor(private readonly props: { readonly tableName: string; readonly client?: DynamoDBClient }) {
    this.db = new DynamoDbDocuments(props.client);
  }

  async createRecount(task: RecountTask): Promise<void> {
    try {
      await this.db.put({
        TableName: this.props.tableName,
        Item: toItem(task),
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': PK },
      });
    } catch (error) {
      rethrowSdkError(error, 'DynamoDB');
    }
  }

  async getRecount(id: string): Promise<RecountTask | undefined> {
    try {
      const item = await this.db.get({ TableName: this.props.tableName, Key: recountKey(id), ConsistentRead: true });
      return item ? fromItem(item) : undefined;
    } catch (error) {
      return rethrowSdkError(error, 'DynamoDB');
    }
  }

  async saveRecount(next: RecountTask, expectVersion: number): Promise<void> {
    try {
      // the version fences two runners of one recount
      await this.db.put({
        TableName: this.props.tableName,
        Item: toItem(next),
        ConditionExpression: '#version = :version',
        ExpressionAttributeNames: { '#version': 'version' },
        ExpressionAttributeValues: { ':version': expectVersion },
      });
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        throw new StateConflictError(next.id, `Recount ${next.id} changed since it was read`, { cause: error });
      }
      rethrowSdkError(error, 'DynamoDB');
    }
  }

  async listAbandonedRecounts(before: number): Promise<readonly RecountTask[]> {
    const found: RecountTask[] = [];
    const running = queryPages(this.db, {
      TableName: this.props.tableName,
      IndexName: stateIndex.name,
      KeyConditionExpression: '#pk = :pk AND #sk < :before',
      ExpressionAttributeNames: { '#pk': stateIndex.partitionKey, '#sk': stateIndex.sortKey },
      ExpressionAttributeValues: { ':pk': RUNNING_PARTITION, ':before': updatedKey(before) },
    });
    try {
      for await (const page of running) {
        // the index holds keys only: read each recount (few run at once)
        const tasks = await Promise.all(page.Items.map((item) => this.getRecount(String(item[PK]).slice('RECOUNT#'.length))));
        for (const task of tasks) if (task && task.status === 'RUNNING' && (task.leaseUntil ?? 0) < before) found.push(task);
      }
    } catch (error) {
      rethrowSdkError(error, 'DynamoDB');
    }
    return found;
  }
}
