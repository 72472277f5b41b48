import { DynamoDBDocumentClient, GetCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createDynamoDbClient } from '../../lambda/adapters/aws-clients';
import { jobKey } from '../../lambda/adapters/dynamodb-job-item';
import { DynamoDbJobStore } from '../../lambda/adapters/dynamodb-job-store';
import { StateConflictError } from '../../lambda/core/errors';
import type { Job } from '../../lambda/core/job';
import { claim, createJob, moveAfterFailure, moveToCompleted, type Transition } from '../../lambda/core/transitions';
import { storeFailedJob } from '../support/job-fixtures';
import { freshResources } from '../support/resources';

let tableName: string;
let doc: DynamoDBDocumentClient;
/** Few shards, so that each holds several jobs of a listing. */
let store: DynamoDbJobStore;

beforeAll(async () => {
  ({ tableName } = await freshResources());
  doc = DynamoDBDocumentClient.from(createDynamoDbClient());
  store = new DynamoDbJobStore({ tableName, retentionMs: 60_000, indexShards: 4 });
});

let seq = 0;
const newJob = (options: { attempts?: number; delay?: number } = {}, at = 1_000): Job =>
  createJob(
    { id: `s-${++seq}`, name: 'demo.shard', data: null, opts: { attempts: options.attempts ?? 1, backoff: { type: 'fixed', delay: 0 }, delay: options.delay ?? 0 } },
    at,
  );

const indexKeys = async (jobId: string) => {
  const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key: jobKey(jobId), ConsistentRead: true }));
  return { gsi1pk: Item?.gsi1pk, gsi1sk: Item?.gsi1sk, gsi2pk: Item?.gsi2pk, gsi2sk: Item?.gsi2sk };
};

describe('index entries', () => {
  it('stay as they are through a claim and a failed attempt with attempts left, and move with the outcome', async () => {
    const job = newJob({ attempts: 2 });
    await store.create(job);
    const pending = await indexKeys(job.id);
    expect(pending.gsi1pk).toMatch(/^STATE#pending#[0-3]$/);
    const active = (await store.claim(job.id, 0, 2_000, 30_000))!;
    expect(await indexKeys(job.id)).toEqual(pending);
    const retrying = moveAfterFailure(active, 2_000, 2_100, { message: 'boom', stack: 'Error: boom' });
    await store.save(retrying.next, retrying.expect, active);
    expect(await indexKeys(job.id)).toEqual(pending);
    const again = (await store.claim(job.id, 0, 2_200, 30_000))!;
    const done = moveToCompleted(again, 2_200, 2_300, 'ok');
    await store.save(done.next, done.expect, again);
    const shard = pending.gsi1pk!.split('#')[2];
    expect(await indexKeys(job.id)).toEqual({ gsi1pk: `STATE#completed#${shard}`, gsi1sk: `${999_999_999_999_999 - 2_300}#${job.id}` });
  });

  it('spread over the shards by job id', async () => {
    const { Items = [] } = await doc.send(new ScanCommand({ TableName: tableName, ProjectionExpression: 'gsi1pk' }));
    for (let i = 0; i < 40; i++) await store.create(newJob());
    const { Items: after = [] } = await doc.send(new ScanCommand({ TableName: tableName, ProjectionExpression: 'gsi1pk' }));
    const shards = new Set(after.slice(Items.length).concat(after).map((item) => item.gsi1pk).filter((pk) => String(pk).startsWith('STATE#pending#')));
    expect(shards).toEqual(new Set(['STATE#pending#0', 'STATE#pending#1', 'STATE#pending#2', 'STATE#pending#3']));
  });
});

describe('listings across shards', () => {
  it('tell the pending states apart, each with its own cursors', async () => {
    const waiting = newJob({}, 5_000);
    const delayed = newJob({ delay: 60_000 }, 5_001);
    const running = newJob({}, 5_002);
    for (const job of [waiting, delayed, running]) await store.create(job);
    await store.claim(running.id, 0, 5_100, 30_000);
    const ids = async (state: Job['state'], changedBefore?: number) => {
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.listByState(state, 1, cursor, changedBefore);
        seen.push(...page.items.map((job) => job.id));
        cursor = page.cursor;
      } while (cursor);
      return seen;
    };
    expect(await ids('waiting')).toContain(waiting.id);
    expect(await ids('waiting')).not.toContain(running.id);
    expect(await ids('active')).toEqual([running.id]);
    expect(await ids('delayed')).toEqual([delayed.id]);
    // entered active at 5,100: not among those that entered it before 5,100
    expect(await ids('active', 5_100)).toEqual([]);
    expect(await ids('active', 5_101)).toEqual([running.id]);
  });

  it('merge into one newest-first order, jobs of one millisecond by id, page by page', async () => {
    const name = 'demo.ties';
    const expected: string[] = [];
    for (const at of [9_000, 8_000, 7_000]) {
      const ids = Array.from({ length: 7 }, (_, i) => `tie-${at}-${i}`);
      for (const id of ids) await storeFailedJob(store, { id, name, failedAt: at });
      expected.push(...ids);
    }
    for (const [filter, limit] of [[{ name }, 4], [{ name }, 1], [{ since: 7_000, until: 9_000 }, 5]] as const) {
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.listFailedSummaries(filter, limit, cursor);
        expect(page.items.length).toBeLessThanOrEqual(limit);
        seen.push(...page.items.map((job) => job.id));
        cursor = page.cursor;
      } while (cursor);
      expect(seen).toEqual(expected);
    }
    expect(await store.countFailed({ name })).toBe(21);
    expect(await store.countFailed({ name }, 5)).toBe(5);
  });

  it('read the same whatever the shard count the jobs were written with, up to the one read with', async () => {
    const one = new DynamoDbJobStore({ tableName, retentionMs: 60_000, indexShards: 1 });
    const eight = new DynamoDbJobStore({ tableName, retentionMs: 60_000, indexShards: 8 });
    const name = 'demo.reshard';
    await storeFailedJob(one, { id: 'reshard-a', name, failedAt: 20_000 });
    await storeFailedJob(store, { id: 'reshard-b', name, failedAt: 21_000 });
    expect((await eight.listFailed({ name }, 10)).items.map((job) => job.id)).toEqual(['reshard-b', 'reshard-a']);
  });
});

describe("a job's stack trace", () => {
  it('is kept apart from the job and shown only beside the failure it belongs to', async () => {
    const job = newJob({ attempts: 3 });
    await store.create(job);
    const active = (await store.claim(job.id, 0, 3_000, 30_000))!;
    const failed = moveAfterFailure(active, 3_000, 3_100, { message: 'first', stack: 'Error: first' });
    await store.save(failed.next, failed.expect, active);
    expect((await store.get(job.id))?.stacktrace).toBe('Error: first');
    // a worker whose read is out of date writes its stack, then loses the job's write:
    // its stack is never shown as the job's (the one it replaced is lost, a detail)
    const stale = moveAfterFailure({ ...active, attempts: 2, history: [...failed.next.history] }, 3_200, 3_300, { message: 'late', stack: 'Error: late' });
    await expect(store.save(stale.next, stale.expect, active)).rejects.toThrow(StateConflictError);
    const afterStale = await store.get(job.id);
    expect(afterStale).toMatchObject({ error: 'first' });
    expect(afterStale?.stacktrace).toBeUndefined();
    // the next failure's stack is shown again, and stays with the job once it completes
    const second = (await store.claim(job.id, 0, 3_400, 30_000))!;
    const failedAgain = moveAfterFailure(second, 3_400, 3_500, { message: 'second', stack: 'Error: second' });
    await store.save(failedAgain.next, failedAgain.expect, second);
    const third = (await store.claim(job.id, 0, 3_600, 30_000))!;
    const done: Transition = moveToCompleted(third, 3_600, 3_700, null);
    await store.save(done.next, done.expect, third);
    expect(await store.get(job.id)).toMatchObject({ state: 'completed', error: 'second', stacktrace: 'Error: second' });
  });

  it('is written once for failures that throw the same stack, and again when it changes', async () => {
    const job = newJob({ attempts: 3 });
    await store.create(job);
    const stackKey = { pk: `JOB#${job.id}`, sk: 'STACK' };
    const fail = async (at: number, stack: string) => {
      const active = (await store.claim(job.id, 0, at, 30_000))!;
      const failed = moveAfterFailure(active, at, at + 10, { message: 'boom', stack });
      await store.save(failed.next, failed.expect, active);
    };
    await fail(4_000, 'Error: same');
    // marked by hand: a write of the stack would set its digest again
    await doc.send(new UpdateCommand({ TableName: tableName, Key: stackKey, UpdateExpression: 'SET digest = :m', ExpressionAttributeValues: { ':m': 'marked' } }));
    await fail(4_100, 'Error: same');
    expect((await doc.send(new GetCommand({ TableName: tableName, Key: stackKey }))).Item).toMatchObject({ digest: 'marked', stacktrace: 'Error: same' });
    await fail(4_200, 'Error: other');
    expect((await doc.send(new GetCommand({ TableName: tableName, Key: stackKey }))).Item).not.toMatchObject({ digest: 'marked' });
    expect(await store.get(job.id)).toMatchObject({ state: 'failed', stacktrace: 'Error: other' });
  });
});
