import { DuplicateJobError, StateConflictError, ValidationError } from '../../lambda/core/errors';
import { toFailedJobSummary, type Job } from '../../lambda/core/job';
import { claim, createJob, moveAfterFailure, type Transition } from '../../lambda/core/transitions';
import { jobKey, shardOf } from '../../lambda/adapters/dynamodb-job-item';
import { DynamoDbJobStore } from '../../lambda/adapters/dynamodb-job-store';
import { JOB_TABLE } from '../../lambda/adapters/table-schema';
import type { FailedJobFilter } from '../../lambda/core/failed-job-filter';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createDynamoDbClient } from '../../lambda/adapters/aws-clients';
import { DynamoDbDocuments } from '../../lambda/adapters/dynamodb-documents';
import { ChangeTally, DynamoDbJobCounters } from '../../lambda/adapters/dynamodb-job-counters';
import { storeFailedJob } from '../support/job-fixtures';
import { freshResources } from '../support/resources';
import { startCounting, type Counting } from '../support/stream-counting';

let store: DynamoDbJobStore;
let tableName: string;
let doc: DynamoDBDocumentClient;
let counting: Counting;

beforeAll(async () => {
  ({ tableName } = await freshResources());
  store = new DynamoDbJobStore({ tableName, retentionMs: 60_000 });
  doc = DynamoDBDocumentClient.from(createDynamoDbClient());
  counting = await startCounting(tableName);
});

afterAll(() => counting.stop());

const opts = { attempts: 1, backoff: { type: 'fixed' as const, delay: 0 }, delay: 0 };
let seq = 0;
const newJob = (data: unknown = null, name = 'demo.echo'): Job =>
  createJob({ id: `job-${++seq}`, name, data, opts }, 1_000 + seq);

const failedJob = (failedAt: number) =>
  storeFailedJob(store, { id: `job-${++seq}`, name: 'demo.fail', data: { n: failedAt }, failedAt, error: `boom ${failedAt}` });

describe('DynamoDbJobStore', () => {
  it('stores a job and reads it back exactly, whatever JSON its data holds', async () => {
    const data = { '': 'empty key', nested: { list: [1, 'two', null, { deep: [[]] }], flag: false }, text: '', big: 1e21 };
    const job = newJob(data);
    await store.create(job);
    expect(await store.get(job.id)).toEqual(job);
    expect(await store.get('no-such-job')).toBeUndefined();
  });

  it('refuses a second job with the same id and keeps the first', async () => {
    const job = newJob({ first: true });
    await store.create(job);
    await expect(store.create({ ...job, data: { first: false } })).rejects.toThrow(DuplicateJobError);
    expect((await store.get(job.id))?.data).toEqual({ first: true });
  });

  it('writes a transition only while the job is as read', async () => {
    const job = newJob();
    await store.create(job);
    const first = claim(job, 0, 2_000, 30_000) as Transition;
    await store.save(first.next, first.expect);
    // a second worker that read the same waiting job loses
    const second = claim(job, 0, 2_001, 30_000) as Transition;
    await expect(store.save(second.next, second.expect)).rejects.toThrow(StateConflictError);
    expect(await store.get(job.id)).toEqual(first.next);
  });

  it('given the job as read, writes only what changed, and the result is the next job', async () => {
    const job = newJob({ payload: 'kept where it is' });
    await store.create(job);
    const active = claim(job, 0, 2_000, 30_000) as Transition;
    await store.save(active.next, active.expect, job);
    // failed: error, stack and failedAt set, leaseUntil removed, the failedByName index keys added
    // an attribute neither version knows of stays: nothing but the changes was written
    const doc = DynamoDBDocumentClient.from(createDynamoDbClient());
    const key = { pk: `JOB#${job.id}`, sk: 'JOB' };
    await doc.send(new UpdateCommand({ TableName: tableName, Key: key, UpdateExpression: 'SET probe = :p', ExpressionAttributeValues: { ':p': 1 } }));
    const failed = moveAfterFailure(active.next, 2_000, 2_500, { message: 'boom', stack: 'Error: boom' });
    await store.save(failed.next, failed.expect, active.next);
    const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }));
    expect(Item).toMatchObject({ probe: 1, state: 'failed', error: 'boom' });
    expect(Item).not.toHaveProperty('leaseUntil');
    // the stack trace has an item of its own, beside the job's: later writes do not carry it
    expect(Item).not.toHaveProperty('stacktrace');
    await doc.send(new UpdateCommand({ TableName: tableName, Key: key, UpdateExpression: 'REMOVE probe' }));
    expect(await store.get(job.id)).toEqual(failed.next);
    expect((await store.listFailed({ name: job.name }, 10)).items.map((j) => j.id)).toContain(job.id);
    // a writer whose read is out of date loses, as with a whole-item write
    const stale = claim(job, 0, 2_001, 30_000) as Transition;
    await expect(store.save(stale.next, stale.expect, job)).rejects.toThrow(StateConflictError);
    await expect(store.save({ ...failed.next, attempts: 9 }, { states: ['failed'], generation: 1 }, failed.next)).rejects.toThrow(
      StateConflictError,
    );
    expect(await store.get(job.id)).toEqual(failed.next);
    await expect(store.save(job, { states: ['waiting'], generation: 0 }, job)).rejects.toThrow(StateConflictError);
    // out of the way of the listings and counts below
    await store.remove(job.id, { states: ['failed'], generation: 0 });
  });

  it('claims a waiting or due job in one write, exactly as the core rule says, and nothing else', async () => {
    const job = newJob();
    await store.create(job);
    expect(await store.claim(job.id, 1, 5_000, 30_000)).toBeUndefined(); // another generation
    const claimed = await store.claim(job.id, 0, 5_000, 30_000);
    expect(claimed).toEqual((claim(job, 0, 5_000, 30_000) as Transition).next);
    expect(await store.get(job.id)).toEqual(claimed);
    expect(await store.claim(job.id, 0, 5_001, 30_000)).toBeUndefined(); // active now

    const later = createJob({ id: `job-${++seq}`, name: 'demo.echo', data: null, opts: { ...opts, delay: 10_000 } }, 1_000);
    await store.create(later);
    expect(await store.claim(later.id, 0, 5_000, 30_000)).toBeUndefined(); // due at 11 000
    expect((await store.claim(later.id, 0, 11_000, 30_000))?.state).toBe('active');
    expect(await store.claim('no-such-job', 0, 5_000, 30_000)).toBeUndefined();

    // a delayed job with no due time is due, as the core rule has it; in its own generation only
    const undated = { ...later, id: `job-${++seq}`, runAt: undefined };
    await store.create(undated);
    expect(await store.claim(undated.id, 1, 5_000, 30_000)).toBeUndefined();
    const claimedUndated = await store.claim(undated.id, 0, 5_000, 30_000);
    expect(claimedUndated).toEqual((claim(undated, 0, 5_000, 30_000) as Transition).next);
    // a finished job is never claimed, whatever its due time
    const done = { ...later, id: `job-${++seq}`, state: 'completed' as const, runAt: 1 };
    await store.create(done);
    expect(await store.claim(done.id, 0, 5_000, 30_000)).toBeUndefined();
  });

  it('lets exactly one of 50 concurrent claims of one job through', async () => {
    const job = newJob();
    await store.create(job);
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => {
        const t = claim(job, 0, 3_000 + i, 30_000) as Transition;
        return store.save(t.next, t.expect);
      }),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected' && r.reason instanceof StateConflictError)).toHaveLength(49);
    expect((await store.get(job.id))?.attempts).toBe(1);
    // and the one-write claim
    const other = newJob();
    await store.create(other);
    const claims = await Promise.all(Array.from({ length: 50 }, () => store.claim(other.id, 0, 3_000, 30_000)));
    expect(claims.filter((c) => c !== undefined)).toHaveLength(1);
    expect((await store.get(other.id))?.attempts).toBe(1);
  });

  it('lists failed jobs newest first, page by page, and counts them', async () => {
    const failedAts = [50_000, 10_000, 40_000, 20_000, 30_000];
    for (const at of failedAts) await failedJob(at);
    const seen: number[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await store.listByState('failed', 2, cursor);
      seen.push(...page.items.map((j) => j.failedAt!));
      cursor = page.cursor;
      pages++;
    } while (cursor);
    expect(seen).toEqual([50_000, 40_000, 30_000, 20_000, 10_000]);
    expect(pages).toBeGreaterThanOrEqual(3);
    await counting.caughtUp();
    expect((await store.countByState()).failed).toBe(5);
  });

  it('lists the same failed jobs as summaries, with the same cursors, whatever the filter', async () => {
    for (const at of [61_000, 62_000, 63_000]) await failedJob(at);
    for (const filter of [{}, { name: 'demo.fail' }, { error: 'boom 6' }, { since: 60_500, until: 63_000 }]) {
      let cursor: string | undefined;
      let pages = 0;
      do {
        const [whole, summaries] = await Promise.all([
          store.listFailed(filter, 2, cursor),
          store.listFailedSummaries(filter, 2, cursor),
        ]);
        expect(summaries).toEqual({ items: whole.items.map(toFailedJobSummary), cursor: whole.cursor });
        cursor = whole.cursor;
        pages++;
      } while (cursor);
      expect(pages).toBeGreaterThan(1);
    }
  });

  it("keys a failed job's index entries by its shard and failure time negated, and filters by time both ways", async () => {
    const name = 'demo.keys';
    const jobs = [];
    for (const at of [71_000, 72_000, 73_000, 74_000]) {
      jobs.push(await storeFailedJob(store, { id: `job-${++seq}`, name, failedAt: at, error: `boom ${at}` }));
    }
    const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key: jobKey(jobs[0]!.id) }));
    // newest first as the forward order, one key per job: (10^15 - 1 - failedAt) in 15 digits, then the id
    const sortKey = `${999_999_999_999_999 - 71_000}#${jobs[0]!.id}`;
    const shard = shardOf(jobs[0]!.id, JOB_TABLE.indexShards);
    expect(Item).toMatchObject({ gsi1pk: `STATE#failed#${shard}`, gsi1sk: sortKey, gsi2pk: `FAILED#${name}#${shard}`, gsi2sk: sortKey });
    const ours = new Set(jobs.map((j) => j.id));
    const failedAts = async (filter: FailedJobFilter) =>
      (await store.listFailed(filter, 100)).items.filter((j) => ours.has(j.id)).map((j) => j.failedAt);
    expect(await failedAts({ name })).toEqual([74_000, 73_000, 72_000, 71_000]);
    expect(await failedAts({ name, since: 72_000, until: 73_000 })).toEqual([73_000, 72_000]);
    expect(await failedAts({ since: 72_500 })).toEqual([74_000, 73_000]);
    expect(await failedAts({ until: 71_999 })).toEqual([71_000]);
    expect(await store.countFailed({ name, since: 72_000 })).toBe(3);
    // back to waiting, the job leaves both failed listings
    const retried = jobs[3]!;
    await store.save({ ...retried, state: 'waiting', generation: retried.generation + 1 }, { states: ['failed'], generation: retried.generation }, retried);
    expect(await failedAts({ name })).toEqual([73_000, 72_000, 71_000]);
    expect(await failedAts({})).toEqual([73_000, 72_000, 71_000]);
  });

  it("keeps counts per state from the table's stream, and recount repairs them after drift", async () => {
    await counting.caughtUp();
    const before = (await store.recount())!;
    const job = newJob();
    await store.create(job);
    const active = claim(job, 0, Date.now(), 30_000) as Transition;
    await store.save(active.next, active.expect);
    await counting.caughtUp();
    expect(await store.countByState()).toEqual({ ...before, active: before.active + 1 });
    const failed = moveAfterFailure(active.next, Date.now(), Date.now(), { message: 'x' });
    await store.save(failed.next, failed.expect);
    await counting.caughtUp();
    expect(await store.countByState()).toEqual({ ...before, failed: before.failed + 1 });
    // a batch the stream handed over twice, past the counters' guard: counted twice
    await store.adjustCount('failed', 1, 'counted-twice');
    expect(await store.recount()).toEqual({ ...before, failed: before.failed + 1 });
    expect(await store.countByState()).toEqual({ ...before, failed: before.failed + 1 });
  });

  it('leaves the counters alone when they changed while the jobs were counted', async () => {
    const counters = new DynamoDbJobCounters(new DynamoDbDocuments(), tableName);
    const kept = await counters.read();
    const actual = { ...kept, waiting: kept.waiting + 5 };
    // a change lands between the first read and the correction
    const landed = new ChangeTally('17');
    landed.add(undefined, 'completed', Date.now());
    await counters.apply(landed);
    expect(await counters.correct(actual, kept)).toBe(false);
    expect(await counters.read()).toEqual({ ...kept, completed: kept.completed + 1 });
    // with nothing moving, the correction applies
    const now = await counters.read();
    expect(await counters.correct({ ...now, waiting: now.waiting + 5 }, now)).toBe(true);
    expect((await counters.read()).waiting).toBe(now.waiting + 5);
  });

  it('counts executions completed and failed per minute', async () => {
    const now = Date.now();
    const job = newJob();
    await store.create(job);
    const active = claim(job, 0, now, 30_000) as Transition;
    await store.save(active.next, active.expect);
    const failed = moveAfterFailure(active.next, now, now, { message: 'x' });
    await store.save(failed.next, failed.expect);
    await counting.caughtUp();
    const minutes = await store.throughput(3, now);
    expect(minutes.map((m) => m.minute)).toEqual([2, 1, 0].map((i) => (Math.floor(now / 60_000) - i) * 60_000));
    expect(minutes[2].failed).toBeGreaterThanOrEqual(1);
  });

  it('rejects a cursor it did not make', async () => {
    await expect(store.listByState('failed', 2, 'not-a-cursor')).rejects.toThrow(ValidationError);
    const forged = Buffer.from(JSON.stringify({ pk: 'x' })).toString('base64url');
    await expect(store.listByState('failed', 2, forged)).rejects.toThrow(/X-Next-Cursor/);
  });
});
