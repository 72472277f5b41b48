import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { createDynamoDbClient } from '../../lambda/adapters/aws-clients';
import { readConfig } from '../../lambda/adapters/config';
import { jobKey } from '../../lambda/adapters/dynamodb-job-item';
import { DynamoDbJobStore } from '../../lambda/adapters/dynamodb-job-store';
import { claimRetry } from '../../lambda/core/retry-failed-job';
import { storeFailedJob } from '../support/job-fixtures';
import { freshResources } from '../support/resources';

const DAY = 24 * 60 * 60 * 1000;
let tableName: string;
let doc: DynamoDBDocumentClient;

beforeAll(async () => {
  ({ tableName } = await freshResources());
  doc = DynamoDBDocumentClient.from(createDynamoDbClient());
});

const expiresAt = async (id: string) =>
  (await doc.send(new GetCommand({ TableName: tableName, Key: jobKey(id), ConsistentRead: true }))).Item?.expiresAt;

describe('failed jobs expire', () => {
  it('through the TTL attribute, REQUEUE_FAILED_RETENTION_DAYS after they failed, until a retry takes it away', async () => {
    const store = new DynamoDbJobStore({ tableName, retentionMs: DAY, failedRetentionMs: 3 * DAY });
    const failed = await storeFailedJob(store, { id: 'expiring-1', failedAt: 1_700_000_000_000 });
    expect(await expiresAt(failed.id)).toBe(Math.ceil((1_700_000_000_000 + 3 * DAY) / 1000));
    await claimRetry(store, failed, 1_700_000_100_000, 'api');
    expect(await expiresAt(failed.id)).toBeUndefined();
  });

  it('after 30 days by default', async () => {
    const base = { REQUEUE_TABLE_NAME: 't', REQUEUE_QUEUE_URL: 'q', REQUEUE_DLQ_URL: 'd', REQUEUE_TASK_QUEUE_URL: 'k' };
    expect(readConfig(base).failedRetentionMs).toBe(30 * DAY);
    expect(readConfig({ ...base, REQUEUE_FAILED_RETENTION_DAYS: '2' }).failedRetentionMs).toBe(2 * DAY);
    expect(() => readConfig({ ...base, REQUEUE_FAILED_RETENTION_DAYS: '-1' })).toThrow(/REQUEUE_FAILED_RETENTION_DAYS/);
    const store = new DynamoDbJobStore({ tableName, retentionMs: DAY });
    const failed = await storeFailedJob(store, { id: 'expiring-2', failedAt: 1_700_000_000_000 });
    expect(await expiresAt(failed.id)).toBe(Math.ceil((1_700_000_000_000 + 30 * DAY) / 1000));
  });
});
