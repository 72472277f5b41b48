import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

/**
 * The job table's keys and indexes, shared by the CDK stack and the local
 * runtime so the two create the same table.
 *
 * Items:
 * - a job: pk `JOB#<id>`, sk `JOB`
 *
 * Index `byState` (sparse: only job items carry its keys): partition
 * `STATE#<state>`, sort key the time the job entered that state. It lists
 * failed jobs newest first and counts jobs per state without a Scan.
 */
export const JOB_TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** Epoch seconds; finished jobs expire after the retention period. */
  timeToLiveAttribute: 'expiresAt',
  stateIndex: { name: 'byState', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
} as const;

export const createTableInput = (tableName: string): CreateTableCommandInput => ({
  TableName: tableName,
  BillingMode: 'PAY_PER_REQUEST',
  AttributeDefinitions: [
    { AttributeName: JOB_TABLE.partitionKey, AttributeType: 'S' },
    { AttributeName: JOB_TABLE.sortKey, AttributeType: 'S' },
    { AttributeName: JOB_TABLE.stateIndex.partitionKey, AttributeType: 'S' },
    { AttributeName: JOB_TABLE.stateIndex.sortKey, AttributeType: 'N' },
  ],
  KeySchema: [
    { AttributeName: JOB_TABLE.partitionKey, KeyType: 'HASH' },
    { AttributeName: JOB_TABLE.sortKey, KeyType: 'RANGE' },
  ],
  GlobalSecondaryIndexes: [
    {
      IndexName: JOB_TABLE.stateIndex.name,
      KeySchema: [
        { AttributeName: JOB_TABLE.stateIndex.partitionKey, KeyType: 'HASH' },
        { AttributeName: JOB_TABLE.stateIndex.sortKey, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    },
  ],
});
