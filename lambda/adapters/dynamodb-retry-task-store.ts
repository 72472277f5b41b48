import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { StateConflictError } from '../core/errors';
import type { RetryTaskStore } from '../core/ports';
import type { RetryTask, TaskStatus } from '../core/retry-task';
import { rethrowSdkError } from './dependency-errors';
import { DynamoDbDocuments } from './dynamodb-documents';
import { JOB_TABLE } from './table-schema';

const { partitionKey: PK, sortKey: SK, stateIndex, timeToLiveAttribute } = JOB_TABLE;

/** Statuses that still need a runner; only these are in the state index. */
const OPEN: readonly TaskStatus[] = ['RUNNING', 'CANCELLING'];
/** Finished tasks are kept this long. */
const RETENTION_S = 30 * 24 * 60 * 60;

const taskKey = (taskId: string) => ({ [PK]: `TASK#${taskId}`, [SK]: 'TASK' });
/** The index's sort keys are strings (see table-schema.ts): a time in 15 digits sorts as the number does. */
const updatedKey = (at: number) => String(Math.max(0, at)).padStart(15, '0');

/**
 * Items: pk `TASK#<id>`, sk `TASK`. An open task is in the `byState` index
 * under `TASK#<status>`, sorted by its last update, so the reconciler finds
 * the ones whose runner died without a Scan.
 */
const toItem = (task: RetryTask): Record<string, unknown> => ({
  ...taskKey(task.id),
  ...task,
  [stateIndex.partitionKey]: OPEN.includes(task.status) ? `TASK#${task.status}` : undefined,
  [stateIndex.sortKey]: OPEN.includes(task.status) ? updatedKey(task.updatedAt) : undefined,
  [timeToLiveAttribute]: task.finishedAt ? Math.ceil(task.finishedAt / 1000) + RETENTION_S : undefined,
});

const fromItem = (item: Record<string, unknown>): RetryTask => {
  const {
    [PK]: _pk,
    [SK]: _sk,
    [stateIndex.partitionKey]: _spk,
    [stateIndex.sortKey]: _ssk,
    [timeToLiveAttribute]: _ttl,
    ...task
  } = item;
  return task as unknown as RetryTask;
};

export class DynamoDbRetryTaskStore implements RetryTaskStore {
  private readonly db: DynamoDbDocuments;

  constructor(private readonly props: { readonly tableName: string; readonly client?: DynamoDBClient }) {
    this.db = new DynamoDbDocuments(props.client);
  }

  async createTask(task: RetryTask): Promise<void> {
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

  async getTask(taskId: string): Promise<RetryTask | undefined> {
    try {
      const item = await this.db.get({ TableName: this.props.tableName, Key: taskKey(taskId), ConsistentRead: true });
      return item ? fromItem(item) : undefined;
    } catch (error) {
      return rethrowSdkError(error, 'DynamoDB');
    }
  }

  async saveTask(next: RetryTask, expectVersion: number, expectStatuses?: readonly TaskStatus[]): Promise<void> {
    const values: Record<string, unknown> = { ':version': expectVersion };
    const statuses = (expectStatuses ?? []).map((status, i) => {
      values[`:s${i}`] = status;
      return `:s${i}`;
    });
    try {
      // the version fences two runners, and a runner against a cancel
      await this.db.put({
        TableName: this.props.tableName,
        Item: toItem(next),
        ConditionExpression: `#version = :version${statuses.length > 0 ? ` AND #status IN (${statuses.join(', ')})` : ''}`,
        ExpressionAttributeNames: { '#version': 'version', ...(statuses.length > 0 ? { '#status': 'status' } : {}) },
        ExpressionAttributeValues: values,
      });
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        throw new StateConflictError(next.id, `Retry task ${next.id} changed since it was read`, { cause: error });
      }
      rethrowSdkError(error, 'DynamoDB');
    }
  }

  async listAbandonedTasks(before: number): Promise<readonly RetryTask[]> {
    const found: RetryTask[] = [];
    try {
      for (const status of OPEN) {
        let startKey: Record<string, unknown> | undefined;
        do {
          const page = await this.db.query({
            TableName: this.props.tableName,
            IndexName: stateIndex.name,
            KeyConditionExpression: '#pk = :pk AND #sk < :before',
            ExpressionAttributeNames: { '#pk': stateIndex.partitionKey, '#sk': stateIndex.sortKey },
            ExpressionAttributeValues: { ':pk': `TASK#${status}`, ':before': updatedKey(before) },
            ExclusiveStartKey: startKey,
          });
          // the index holds keys only: read each task (few are open at once)
          const tasks = await Promise.all(page.Items.map((item) => this.getTask(String(item[PK]).slice('TASK#'.length))));
          for (const task of tasks) if (task && OPEN.includes(task.status) && (task.leaseUntil ?? 0) < before) found.push(task);
          startKey = page.LastEvaluatedKey;
        } while (startKey);
      }
    } catch (error) {
      rethrowSdkError(error, 'DynamoDB');
    }
    return found;
  }
}
