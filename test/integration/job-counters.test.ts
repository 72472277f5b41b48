import { DynamoDbDocuments } from '../../lambda/adapters/dynamodb-documents';
import { ChangeTally, countsKey, DynamoDbJobCounters, throughputKey } from '../../lambda/adapters/dynamodb-job-counters';
import type { JobState } from '../../lambda/core/job';
import { freshResources } from '../support/resources';

let tableName: string;
const db = new DynamoDbDocuments();
const MINUTE = 60_000;
const now = Date.UTC(2026, 0, 1, 12, 30, 15);

/** A batch named `batch` (a sequence number: it picks the shard) of the changes given. */
const batchOf = (batch: number, changes: readonly [JobState | undefined, JobState | undefined, number][]) => {
  const tally = new ChangeTally(String(batch));
  for (const [from, to, at] of changes) tally.add(from, to, at);
  return tally;
};

beforeAll(async () => {
  ({ tableName } = await freshResources());
});

describe('sharded job counters on dynalite', () => {
  it('add up the counts of every shard, each batch on the shard its sequence number picks', async () => {
    const counters = new DynamoDbJobCounters(db, tableName, { shards: 4 });
    for (let batch = 100; batch < 106; batch++) await counters.apply(batchOf(batch, [[undefined, 'waiting', now]]));
    await counters.apply(batchOf(106, [['waiting', 'active', now], ['active', 'completed', now]]));
    expect(await counters.read()).toEqual({ waiting: 5, active: 0, completed: 1, failed: 0, delayed: 0 });
    // batches 100 to 106 went to shards 0, 1, 2, 3, 0, 1, 2: the last one took a job from waiting to completed
    const shards = await Promise.all([0, 1, 2, 3].map((shard) => db.get({ TableName: tableName, Key: countsKey(shard) })));
    expect(shards.map((item) => item?.waiting)).toEqual([2, 2, 0, 1]);
    expect(shards[2]).toMatchObject({ completed: 1 });
  });

  it('count a batch handed over again once, on every item it wrote', async () => {
    const counters = new DynamoDbJobCounters(db, tableName, { shards: 4 });
    const before = await counters.read();
    const at = Date.UTC(2026, 0, 3, 9, 0, 0);
    const batch = batchOf(203, [[undefined, 'waiting', at], ['active', 'failed', at]]);
    await counters.apply(batch);
    await counters.apply(batch);
    const after = await counters.read();
    expect(after.waiting - before.waiting).toBe(1);
    expect(after.failed - before.failed).toBe(1);
    expect((await counters.throughput(1, at)).at(-1)).toMatchObject({ failed: 1 });
    // the next batch on that shard is counted
    await counters.apply(batchOf(207, [[undefined, 'waiting', at]]));
    expect((await counters.read()).waiting - before.waiting).toBe(2);
  });

  it("add up each minute's throughput over the shards, and show every minute of the window", async () => {
    const counters = new DynamoDbJobCounters(db, tableName, { shards: 3 });
    const now = Date.UTC(2026, 0, 2, 8, 10, 45);
    let batch = 300;
    for (const [at, outcome] of [
      [now, 'completed'],
      [now, 'failed'],
      [now, 'completed'],
      [now - 2 * MINUTE, 'completed'],
      [now - 20 * MINUTE, 'failed'],
    ] as const) {
      await counters.apply(batchOf(batch++, [['active', outcome, at]]));
    }
    const minutes = await counters.throughput(4, now);
    const first = Math.floor(now / MINUTE) - 3;
    expect(minutes).toEqual([
      { minute: first * MINUTE, completed: 0, failed: 0 },
      { minute: (first + 1) * MINUTE, completed: 1, failed: 0 },
      { minute: (first + 2) * MINUTE, completed: 0, failed: 0 },
      { minute: (first + 3) * MINUTE, completed: 2, failed: 1 },
    ]);
    // the current minute's outcomes went to three shards, each item expiring a day after its minute
    const current = await Promise.all([0, 1, 2].map((s) => db.get({ TableName: tableName, Key: throughputKey(s, first + 3) })));
    expect(current.map((item) => [item?.completed ?? 0, item?.failed ?? 0])).toEqual([[1, 0], [0, 1], [1, 0]]);
    expect(current[0]?.expiresAt).toBe(((first + 3) * MINUTE) / 1000 + 24 * 60 * 60);
  });

  it('set the counts right with a correction on one shard', async () => {
    const counters = new DynamoDbJobCounters(db, tableName, { shards: 4 });
    const kept = await counters.read();
    const actual = { ...kept, failed: kept.failed + 3, waiting: kept.waiting - 1 };
    expect(await counters.correct(actual, kept)).toBe(true);
    expect(await counters.read()).toEqual(actual);
  });
});
