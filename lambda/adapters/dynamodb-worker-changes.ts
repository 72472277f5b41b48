import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { WorkerChange, WorkerChangeLog } from '../core/ports';
import { rethrowSdkError } from './dependency-errors';
import { DynamoDbDocuments } from './dynamodb-documents';
import { JOB_TABLE } from './table-schema';

const { partitionKey: PK, sortKey: SK } = JOB_TABLE;

/** One item, pk `WORKER`, sk `SWITCH`: the last pause or resume made through the API. In no index. */
const KEY = { [PK]: 'WORKER', [SK]: 'SWITCH' };

export class DynamoDbWorkerChanges implements WorkerChangeLog {
  private readonly db: DynamoDbDocuments;

  constructor(private readonly props: { readonly tableName: string; readonly client?: DynamoDBClient }) {
    this.db = new DynamoDbDocuments(props.client);
  }

  async last(): Promise<WorkerChange | undefined> {
    try {
      const item = await this.db.get({ TableName: this.props.tableName, Key: KEY, ConsistentRead: true });
      if (!item) return undefined;
      return { paused: item.paused === true, by: String(item.by), at: Number(item.at) };
    } catch (error) {
      return rethrowSdkError(error, 'DynamoDB');
    }
  }

  async record(change: WorkerChange): Promise<void> {
    try {
      await this.db.update({
        TableName: this.props.tableName,
        Key: KEY,
        UpdateExpression: 'SET #paused = :paused, #by = :by, #at = :at',
        // two switches close together may write out of order: the later one stays
        ConditionExpression: 'attribute_not_exists(#at) OR #at <= :at',
        ExpressionAttributeNames: { '#paused': 'paused', '#by': 'by', '#at': 'at' },
        ExpressionAttributeValues: { ':paused': change.paused, ':by': change.by, ':at': change.at },
      });
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return;
      rethrowSdkError(error, 'DynamoDB');
    }
  }
}
