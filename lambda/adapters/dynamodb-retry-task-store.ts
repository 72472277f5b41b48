import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { StateConflictError, ValidationError } from '../core/errors';
import type { Page, RetryTaskStore } from '../core/ports';
import type { RetryTask, TaskStatus } from '../core/retry-task';
import { rethrowSdkError } from './dependency-errors';
import { DynamoDbDocuments } from './dynamodb-documents';
import { queryPages } from './dynamodb-query-pages';
import { JOB_TABLE } from './table-schema';

const { partitionKey: PK, sortKey: SK, stateIndex, failedByNameIndex: listIndex, timeToLiveAttribute } = JOB_TABLE;

/**
 * Every task is also in the failedByName index under this partition (no job
 * partition can spell it: those are `FAILED#<name>#<shard>`), sorted by its
 * start (see `listKey`): newest first as a forward Query, like the failed
 * jobs beside it. Tasks start rarely and keep their key, so the partition
 * takes few writes; the index holds keys only, so a page's tasks are then
 * read by key.
 */
const TASK_LIST = 'TASKS';

/** Statuses that still need a runner; only these are in the state index. */
const OPEN: readonly TaskStatus[] = ['RUNNING', 'CANCELLING'];
/** Finished tasks are kept this long. */
const RETENTION_S = 30 * 24 * 60 * 60;

const taskKey = (taskId: string) => ({ [PK]: `TASK#${taskId}`, [SK]: 'TASK' });
/** The index's sort keys are strings (see table-schema.ts): a time in 15 digits sorts as the number does. */
const updatedKey = (at: number) => String(Math.max(0, at)).padStart(15, '0');
/** The latest time a list key can hold (15 digits), as in the job store's sort keys. */
const MAX_TIME = 999_999_999_999_999;
/** A task's key in the list: its start subtracted from MAX_TIME (newest first as a forward Query), then its id. */
const listKey = (startedAt: number, taskId: string) =>
  `${String(MAX_TIME - Math.min(MAX_TIME, Math.max(0, startedAt))).padStart(15, '0')}#${taskId}`;

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
  [listIndex.partitionKey]: TASK_LIST,
  [listIndex.sortKey]: listKey(task.startedAt, task.id),
  [timeToLiveAttribute]: task.finishedAt ? Math.ceil(task.finishedAt / 1000) + RETENTION_S : undefined,
});

const BAD_CURSOR = 'cursor is not valid: pass the X-Next-Cursor value of the previous page unchanged';
const TASK_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const encodeCursor = (key: Record<string, unknown>): string => {
  const listed = String(key[listIndex.sortKey]);
  return Buffer.from(JSON.stringify({ id: listed.slice(16), at: MAX_TIME - Number(listed.slice(0, 15)) })).toString('base64url');
};

/** A cursor, checked, as the ExclusiveStartKey it stands for; the keys are rebuilt, never taken from the caller. */
const decodeCursor = (cursor: string): Record<string, unknown> => {
  let k: { id?: unknown; at?: unknown } | undefined;
  try {
    k = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new ValidationError(BAD_CURSOR);
  }
  if (
    typeof k !== 'object' ||
    k === null ||
    typeof k.id !== 'string' ||
    !TASK_ID.test(k.id) ||
    !Number.isSafeInteger(k.at) ||
    (k.at as number) < 0 ||
    (k.at as number) > MAX_TIME
  ) {
    throw new ValidationError(BAD_CURSOR);
  }
  return { ...taskKey(k.id), [listIndex.partitionKey]: TASK_LIST, [listIndex.sortKey]: listKey(k.at as number, k.id) };
};

const fromItem = (item: Record<string, unknown>): RetryTask => {
  const {
    [PK]: _pk,
    [SK]: _sk,
    [stateIndex.partitionKey]: _spk,
    [stateIndex.sortKey]: _ssk,
    [listIndex.partitionKey]: _lpk,
    [listIndex.sortKey]: _lsk,
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
        const open = queryPages(this.db, {
          TableName: this.props.tableName,
          IndexName: stateIndex.name,
          KeyConditionExpression: '#pk = :pk AND #sk < :before',
          ExpressionAttributeNames: { '#pk': stateIndex.partitionKey, '#sk': stateIndex.sortKey },
          ExpressionAttributeValues: { ':pk': `TASK#${status}`, ':before': updatedKey(before) },
        });
        for await (const page of open) {
          // the index holds keys only: read each task (few are open at once)
          const tasks = await Promise.all(page.Items.map((item) => this.getTask(String(item[PK]).slice('TASK#'.length))));
          for (const task of tasks) if (task && OPEN.includes(task.status) && (task.leaseUntil ?? 0) < before) found.push(task);
        }
      }
    } catch (error) {
      rethrowSdkError(error, 'DynamoDB');
    }
    return found;
  }

  async listTasks(limit: number, cursor?: string): Promise<Page<RetryTask>> {
    const startKey = cursor === undefined ? undefined : decodeCursor(cursor);
    try {
      const page = await this.db.query({
        TableName: this.props.tableName,
        IndexName: listIndex.name,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': listIndex.partitionKey },
        ExpressionAttributeValues: { ':pk': TASK_LIST },
        Limit: limit,
        ExclusiveStartKey: startKey,
      });
      // the index holds keys only: the page's tasks are read by key
      const items = await this.db.batchGet({
        TableName: this.props.tableName,
        Keys: page.Items.map((entry) => ({ [PK]: entry[PK], [SK]: entry[SK] })),
        ConsistentRead: true,
      });
      const byKey = new Map(items.map((item) => [item[PK] as string, item]));
      // a task that expired since the index was read is passed over
      const tasks = page.Items.flatMap((entry) => {
        const item = byKey.get(entry[PK] as string);
        return item ? [fromItem(item)] : [];
      });
      return { items: tasks, cursor: page.LastEvaluatedKey && encodeCursor(page.LastEvaluatedKey) };
    } catch (error) {
      return rethrowSdkError(error, 'DynamoDB');
    }
  }
}
