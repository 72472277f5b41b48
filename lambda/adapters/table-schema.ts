import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

/**
 * The job table's keys and indexes, shared by the CDK stack and the local
 * runtime so the two create the same table.
 *
 * Items:
 * - a job: pk `JOB#<id>`, sk `JOB`, everything a transition reads or writes;
 * - its stack trace: pk `JOB#<id>`, sk `STACK`, written only when an
 *   execution fails, so that the job's own item stays small (one write unit
 *   per transition for small data) instead of carrying up to 16 KiB of stack
 *   through every later write;
 * - a retry task: pk `TASK#<id>`, sk `TASK`.
 *
 * No partition key of an index may take much of the writes: a DynamoDB
 * partition takes about 1,000 write units a second. Each job's index entries
 * are spread over `indexShards` partitions by a hash of its id, and a listing
 * reads every shard and merges them.
 *
 * Index `byState` (sparse: only job items and open tasks carry its keys):
 * partition `STATE#<group>#<shard>`, where the group is `pending` (waiting,
 * delayed and active alike), `completed` or `failed`. A pending job keeps one
 * entry from enqueue to its outcome: claiming it, failing it with attempts
 * left, running it again change nothing the index holds, so those writes
 * cost the job's item alone. Open retry tasks: partition `TASK#<status>`.
 *
 * Index `failedByName` (sparse: only failed jobs carry its keys): partition
 * `FAILED#<name>#<shard>`: after an outage, one name may fail thousands of
 * jobs a second.
 *
 * Both sort keys are strings, `<15 digits>#<id>`: the digits are the time the
 * job entered its group (failed: failedAt; completed: finishedAt; pending:
 * enqueue, retry or last re-send), subtracted from 10^15 - 1, so that newest
 * first is every partition's forward order, and the id makes each key unique,
 * so a page can end and resume between two jobs of the same millisecond. (On
 * dynalite's LevelDB a reverse Query seeks past the partition's end, over
 * every deleted entry there.)
 *
 * Projections hold the keys and what a Query filters on (`errorLower`, the
 * error filter): a page's items are then read by key, with only the
 * attributes it shows, so no index entry grows with a job's data, history or
 * stack, and no transition that leaves the keys alone writes an index.
 */
export const JOB_TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** Epoch seconds; finished jobs expire after the retention period. */
  timeToLiveAttribute: 'expiresAt',
  stateIndex: { name: 'byState', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
  failedByNameIndex: { name: 'failedByName', partitionKey: 'gsi2pk', sortKey: 'gsi2sk' },
  /** What the indexes project beside the keys. */
  projectedAttributes: ['errorLower'],
  /**
   * Shards of each index partition. The hottest key takes two index writes
   * a job (`STATE#pending`: the put at enqueue, the delete at the outcome),
   * one write unit each: 32 shards × 1,000 WCU/s ÷ 2 = 16,000 jobs/s. Only
   * ever raise it on a table with jobs: a listing reads shards 0..N-1, and
   * entries written under a larger N would be missed.
   */
  indexShards: 32,
  /** What the table's stream carries: the counters are moved from both images of each change (count-job-changes). */
  streamViewType: 'NEW_AND_OLD_IMAGES',
} as const;

const gsi = (index: { name: string; partitionKey: string; sortKey: string }) => ({
  IndexName: index.name,
  KeySchema: [
    { AttributeName: index.partitionKey, KeyType: 'HASH' as const },
    { AttributeName: index.sortKey, KeyType: 'RANGE' as const },
  ],
  Projection: { ProjectionType: 'INCLUDE' as const, NonKeyAttributes: [...JOB_TABLE.projectedAttributes] },
});

export const createTableInput = (tableName: string): CreateTableCommandInput => ({
  TableName: tableName,
  BillingMode: 'PAY_PER_REQUEST',
  AttributeDefinitions: [
    { AttributeName: JOB_TABLE.partitionKey, AttributeType: 'S' },
    { AttributeName: JOB_TABLE.sortKey, AttributeType: 'S' },
    { AttributeName: JOB_TABLE.stateIndex.partitionKey, AttributeType: 'S' },
    { AttributeName: JOB_TABLE.stateIndex.sortKey, AttributeType: 'S' },
    { AttributeName: JOB_TABLE.failedByNameIndex.partitionKey, AttributeType: 'S' },
    { AttributeName: JOB_TABLE.failedByNameIndex.sortKey, AttributeType: 'S' },
  ],
  KeySchema: [
    { AttributeName: JOB_TABLE.partitionKey, KeyType: 'HASH' },
    { AttributeName: JOB_TABLE.sortKey, KeyType: 'RANGE' },
  ],
  GlobalSecondaryIndexes: [gsi(JOB_TABLE.stateIndex), gsi(JOB_TABLE.failedByNameIndex)],
  StreamSpecification: { StreamEnabled: true, StreamViewType: JOB_TABLE.streamViewType },
});
