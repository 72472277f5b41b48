import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { DynamoDbDocuments } from '../../lambda/adapters/dynamodb-documents';
import { DynamoDbJobCounters, throughputKey } from '../../lambda/adapters/dynamodb-job-counters';
import { DynamoDbJobStore, jobKey } from '../../lambda/adapters/dynamodb-job-store';
import type { Job } from '../../lambda/core/job';
import { EXPIRY_COUNTER } from '../../lambda/routes';
import { claim, createJob, moveToCompleted, type Transition } from '../../lambda/core/transitions';
import { expireItems, type ExpireItemsOptions } from '../../local/expire-items';
import { storeFailedJob } from '../support/job-fixtures';
import { freshResources } from '../support/resources';

// The local stand-in for TTL against dynalite, feeding the very handler the
// table's stream feeds on AWS.

const DAY = 24 * 60 * 60 * 1000;
const RETENTION = DAY;
const now = Date.now();

let dynamodb: DynamoDBClient;
let tableName: string;
let store: DynamoDbJobStore;
let handler: (event: DynamoDBStreamEvent) => Promise<{ expired: number }>;
const db = new DynamoDbDocuments();

beforeAll(async () => {
  ({ dynamodb, tableName } = await freshResources());
  store = new DynamoDbJobStore({ tableName, retentionMs: RETENTION });
  // the handler reads its settings as it loads: after freshResources set them
  ({ handler } = await import('../../lambda/handlers/count-expired-jobs'));
});

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

const options = (consumer: ExpireItemsOptions['consumer']): ExpireItemsOptions => ({
  dynamodb,
  tableName,
  region: 'us-east-1',
  filter: EXPIRY_COUNTER.filter,
  batchSize: 2,
  consumer,
  now: () => now,
  pageSize: 3,
});

describe('the local stand-in for TTL', () => {
  it('deletes what has expired, and the stream handler takes the expired jobs out of the counts', async () => {
    for (const id of ['old-1', 'old-2', 'old-3']) await completedJob(id, now - 2 * RETENTION);
    await completedJob('recent', now - RETENTION / 2);
    await storeFailedJob(store, { id: 'failed', failedAt: now - 3 * RETENTION });
    // a throughput minute from three days ago: it expires too, but is not a job
    const old = new DynamoDbJobCounters(db, tableName, { shards: 1 });
    old.record('active', 'completed', now - 3 * DAY);
    await old.flush();
    await store.flush();
    const before = await store.countByState();

    const batches: number[] = [];
    const deleted = await expireItems(
      options(async (event) => {
        batches.push(event.Records.length);
        return handler(event);
      }),
    );

    // the three jobs reach the handler, in batches of two; the expired throughput minutes are deleted besides
    expect(batches).toEqual([2, 1]);
    expect(deleted).toBeGreaterThanOrEqual(4);
    for (const id of ['old-1', 'old-2', 'old-3']) expect(await exists(jobKey(id))).toBe(false);
    for (const id of ['recent', 'failed']) expect(await exists(jobKey(id))).toBe(true);
    expect(await exists(throughputKey(0, Math.floor((now - 3 * DAY) / 60_000)))).toBe(false);
    expect(await store.countByState()).toEqual({ ...before, completed: before.completed - 3 });
    // nothing left to expire
    expect(await expireItems(options(handler))).toBe(0);
  });

  it('hands a batch the consumer failed to it again, as the stream does, and counts its jobs once', async () => {
    await completedJob('retried-batch', now - 2 * RETENTION);
    await store.flush();
    const before = await store.countByState();
    let calls = 0;
    await expireItems(
      options(async (event) => {
        if (++calls === 1) throw new Error('the counters are unavailable');
        return handler(event);
      }),
    );
    expect(calls).toBe(2);
    expect(await store.countByState()).toEqual({ ...before, completed: before.completed - 1 });
  });
});
