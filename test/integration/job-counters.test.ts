import { DynamoDbDocuments } from '../../lambda/adapters/dynamodb-documents';
import { countsKey, DynamoDbJobCounters, throughputKey } from '../../lambda/adapters/dynamodb-job-counters';
import { freshResources } from '../support/resources';

let tableName: string;
const db = new DynamoDbDocuments();
const MINUTE = 60_000;
const now = Date.UTC(2026, 0, 1, 12, 30, 15);

/** Counters that write flush after flush to shards 0, 1, 2, ... in turn. */
const roundRobin = (shards: number) => {
  let next = 0;
  return new DynamoDbJobCounters(db, tableName, { shards, pickShard: (n) => next++ % n });
};

beforeAll(async () => {
  ({ tableName } = await freshResources());
});

describe('sharded job counters on dynalite', () => {
  it('add up the counts of every shard, each shard its own partition key', async () => {
    const counters = roundRobin(4);
    for (let i = 0; i < 6; i++) {
      counters.record(undefined, 'waiting', now);
      await counters.flush();
    }
    counters.record('waiting', 'active', now);
    counters.record('active', 'completed', now);
    await counters.flush();
    expect(await counters.read()).toEqual({ waiting: 5, active: 0, completed: 1, failed: 0, delayed: 0 });
    // flushes 1 to 7 went to shards 0, 1, 2, 3, 0, 1, 2: the last one took a job from waiting to completed
    const shards = await Promise.all([0, 1, 2, 3].map((shard) => db.get({ TableName: tableName, Key: countsKey(shard) })));
    expect(shards.map((item) => item?.waiting)).toEqual([2, 2, 0, 1]);
    expect(shards[2]).toMatchObject({ completed: 1 });
  });

  it("add up each minute's throughput over the shards, and show every minute of the window", async () => {
    const counters = roundRobin(3);
    const now = Date.UTC(2026, 0, 2, 8, 10, 45);
    for (const [at, outcome] of [
      [now, 'completed'],
      [now, 'failed'],
      [now, 'completed'],
      [now - 2 * MINUTE, 'completed'],
      [now - 20 * MINUTE, 'failed'],
    ] as const) {
      counters.record('active', outcome, at);
      await counters.flush();
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
    const counters = roundRobin(4);
    const kept = await counters.read();
    const actual = { ...kept, failed: kept.failed + 3, waiting: kept.waiting - 1 };
    expect(await counters.correct(actual, kept)).toBe(true);
    expect(await counters.read()).toEqual(actual);
  });
});
