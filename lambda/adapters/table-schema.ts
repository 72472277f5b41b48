import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

/**
 * The job table's keys and indexes, shared by the CDK stack and the local
 * runtime so the two create the same table.
 *
 * Items:
 * - a job: pk `JOB#<id>`, sk `JOB`
 *
 * Index `byState` (sparse: only job items carry its keys): partition
 * `STATE#<state>`, sort key the time the job entered that state, negated for
 * `STATE#failed` (-failedAt). It lists failed jobs newest first, by failure
 * time, as a forward Query, and finds pending jobs for the reconciler, without
 * a Scan.
 *
 * Index `failedByName` (sparse: only failed jobs carry its keys): partition
 * `FAILED#<name>`, sort key -failedAt. The failed jobs of one job name, newest
 * first, by failure time, as a forward Query.
 *
 * (dynalite's LevelDB reads a reverse Query by seeking past the partition's
 * end, over whatever deleted entries lie there: see `failedSortKey` in
 * dynamodb-job-store.ts.)
 */
export const JOB_TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** Epoch seconds; finished jobs expire after the retention period. */
  timeToLiveAttribute: 'expiresAt',
  stateIndex: { name: 'byState', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
  failedByNameIndex: { name: 'failedByName', partitionKey: 'gsi2pk', sortKey: 'gsi2sk' },
} as const;

const gsi = (index: { name: string; partitionKey: string; sortKey: string }) => ({
  IndexName: index.name,
  KeySchema: [
    { AttributeName: index.partitionKey, KeyType: 'HASH' as const },
    { AttributeName: index.sortKey, KeyType: 'RANGE' as const },
  ],
  Projection: { ProjectionType: 'ALL' as const },
});

export const createTableInput = (tableName: string): CreateTableCommandInput => ({
  TableName: tableName,
  BillingMode: 'PAY_PER_REQUEST',
  AttributeDefinitions: [
    { AttributeName: JOB_TABLE.partitionKey, AttributeType: 'S' },
    { AttributeName: JOB_TABLE.sortKey, AttributeType: 'S' },
    { AttributeName: JOB_TABLE.stateIndex.partitionKey, AttributeType: 'S' },
    { AttributeName: JOB_TABLE.stateIndex.sortKey, AttributeType: 'N' },
    { AttributeName: JOB_TABLE.failedByNameIndex.partitionKey, AttributeType: 'S' },
    { AttributeName: JOB_TABLE.failedByNameIndex.sortKey, AttributeType: 'N' },
  ],
  KeySchema: [
    { AttributeName: JOB_TABLE.partitionKey, KeyType: 'HASH' },
    { AttributeName: JOB_TABLE.sortKey, KeyType: 'RANGE' },
  ],
  GlobalSecondaryIndexes: [gsi(JOB_TABLE.stateIndex), gsi(JOB_TABLE.failedByNameIndex)],
});
