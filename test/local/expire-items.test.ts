import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbDocuments } from '../../lambda/adapters/dynamodb-documents';
import { ChangeTally, DynamoDbJobCounters, throughputKey } from '../../lambda/adapters/dynamodb-job-counters';
import { jobKey } from '../../lambda/adapters/dynamodb-job-item';
import { DynamoDbJobStore } from '../../lambda/adapters/dynamodb-job-store';
import type { Job } from '../../lambda/core/job';
import { claim, createJob, moveToCompleted, type Transition } from '../../lambda/core/transitions';
import { expireItems } from '../../local/expire-items';
import { storeFailedJob } from '../support/job-fixtures';
import { freshResources } from '../support/resources';
import { startCounting, type Counting } from '../support/stream-counting';

// The local stand-in for TTL against dynalite: it deletes, and the table's stream tells the counting function,
// as on AWS.

const DAY = 24 * 60 * 60 * 1000;
const RETENTION = DAY;
const now = Date.now();

let dynamodb: DynamoDBClient;
let tableName: string;
let store: DynamoDbJobStore;
let counting: Counting;
const db = new DynamoDbDocuments();

beforeAll(async () => {
  ({ dynamodb, tableName } = await freshResources());
  store = new DynamoDbJobStore({ tableName, retentionMs: RETENTION });
  counting = await startCounting(tableName);
});

afterAll(() => counting.stop());

const opts = { attempts: 1, backoff: { type: 'fixed' as const, delay: 0 }, delay: 0 };
/** A job that completed at `finishedAt`: it expires a retention later. */
const completedJob = async (id: string, finishedAt: number): Promise<Job> => {
  const job = createJob({ id, name: 'demo.echo', data: null, opts }, finishedAt - 20);
  await store.create(job);
  const active = claim(job, 0, finishedAt - 10, 30_000) as Transition;
  await store.save(active.next, active.expect);
  const done = moveToCompleted(active.next, finishedAt - 10, finishedAt, 'ok');
  await store.save(done.next, done.expect);
  return done.next;
};

const exists = async (key: Record<string, unknown>) => (await db.get({ TableName: tableName, Key: key })) !== undefined;

describe('the local stand-in for TTL', () => {
  it('deletes what has expired, and the stream takes the expired jobs out of the counts', async () => {
    for (const id of ['old-1', 'old-2', 'old-3']) await completedJob(id, now - 2 * RETENTION);
    await completedJob('recent', now - RETENTION / 2);
    await storeFailedJob(store, { id: 'failed', failedAt: now - 3 * RETENTION });
    // a throughput minute from three days ago: it expires too, but is not a job
    const old = new ChangeTally('1');
    old.add('active', 'completed', now - 3 * DAY);
    await new DynamoDbJobCounters(db, tableName, { shards: 1 }).apply(old);
    await counting.caughtUp();
    const before = await store.countByState();

    const deleted = await expireItems({ dynamodb, tableName, now: () => now, pageSize: 3 });

    expect(deleted).toBeGreaterThanOrEqual(4);
    for (const id of ['old-1', 'old-2', 'old-3']) expect(await exists(jobKey(id))).toBe(false);
    for (const id of ['recent', 'failed']) expect(await exists(jobKey(id))).toBe(true);
    expect(await exists(throughputKey(0, Math.floor((now - 3 * DAY) / 60_000)))).toBe(false);
    await counting.caughtUp();
    expect(await store.countByState()).toEqual({ ...before, completed: before.completed - 3 });
    // nothing left to expire
    expect(await expireItems({ dynamodb, tableName, now: () => now })).toBe(0);
  });

  it('leaves an item that no longer expires', async () => {
    const job = await completedJob('moved-on', now - 2 * RETENTION);
    // as a retry would: the item no longer expires
    await db.update({
      TableName: tableName,
      Key: jobKey(job.id),
      UpdateExpression: 'REMOVE #ttl',
      ExpressionAttributeNames: { '#ttl': 'expiresAt' },
    });
    // (its outcome's throughput minute, a day older than its retention, may go)
    await expireItems({ dynamodb, tableName, now: () => now });
    expect(await exists(jobKey(job.id))).toBe(true);
  });
});
