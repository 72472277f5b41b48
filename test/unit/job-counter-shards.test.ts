import { ChangeTally, COUNTER_SHARDS, DynamoDbJobCounters } from '../../lambda/adapters/dynamodb-job-counters';
import type { DynamoDbDocuments, UpdateInput } from '../../lambda/adapters/dynamodb-documents';
import { JOB_CHANGES_COUNTER } from '../../lambda/routes';

// What one second at 10,000 jobs a second writes to the counter items. Each
// job changes three times (enqueued, claimed, finished), and the table's
// stream hands the changes to the counting function in batches of up to
// JOB_CHANGES_COUNTER.batchSize, each batch one counter write of the states
// and one per minute of outcomes in it. A DynamoDB partition takes about
// 1,000 write units a second; each of these updates is one.

const JOBS_PER_SECOND = 10_000;
const PARTITION_WCU_PER_SECOND = 1_000;

/** The documents adapter as far as the counters use it, recording each update's partition key. */
const recordingDocuments = () => {
  const writes = new Map<string, number>();
  const db = {
    update: async (input: UpdateInput) => {
      const pk = String(input.Key!.pk);
      writes.set(pk, (writes.get(pk) ?? 0) + 1);
      return undefined;
    },
  } as unknown as DynamoDbDocuments;
  return { db, writes };
};

/** The second's changes in stream order, batch by batch, each batch named by its first (made up) sequence number. */
const oneSecondAtFullSpeed = async (counters: DynamoDbJobCounters, at: number) => {
  const changes = JOBS_PER_SECOND * 3;
  let sequence = 4_000_000_000_000_000_000n;
  for (let first = 0; first < changes; first += JOB_CHANGES_COUNTER.batchSize) {
    const tally = new ChangeTally(String(sequence));
    for (let i = first; i < Math.min(changes, first + JOB_CHANGES_COUNTER.batchSize); i++) {
      sequence += 7n + BigInt(i % 5);
      const step = i % 3;
      if (step === 0) tally.add(undefined, 'waiting', at);
      else if (step === 1) tally.add('waiting', 'active', at);
      else tally.add('active', 'completed', at);
    }
    await counters.apply(tally);
  }
};

describe('counter shards', () => {
  it("keep the hottest counter partition far under a partition's write limit at 10,000 jobs a second", async () => {
    const { db, writes } = recordingDocuments();
    await oneSecondAtFullSpeed(new DynamoDbJobCounters(db, 'jobs'), Date.UTC(2026, 0, 1));
    const total = [...writes.values()].reduce((sum, n) => sum + n, 0);
    const batches = (JOBS_PER_SECOND * 3) / JOB_CHANGES_COUNTER.batchSize;
    // per batch: the states, and the one minute its outcomes fell in
    expect(total).toBe(2 * batches);
    expect(new Set([...writes.keys()].filter((pk) => pk.startsWith('COUNTS#'))).size).toBeGreaterThan(1);
    expect(Math.max(...writes.values())).toBeLessThan(0.05 * PARTITION_WCU_PER_SECOND);
  });

  it('stay under that limit on one shard too: the writes follow the batches, not the jobs', async () => {
    const { db, writes } = recordingDocuments();
    await oneSecondAtFullSpeed(new DynamoDbJobCounters(db, 'jobs', { shards: 1 }), Date.UTC(2026, 0, 1));
    expect(Math.max(...writes.values())).toBeLessThan(0.1 * PARTITION_WCU_PER_SECOND);
    expect(COUNTER_SHARDS).toBeGreaterThan(1);
  });

  it('tally a batch change by change: states, jobs that left failed, outcomes per minute', () => {
    const minute = Date.UTC(2026, 0, 1, 10, 0);
    const tally = new ChangeTally('1');
    tally.add(undefined, 'waiting', minute);
    tally.add('waiting', 'active', minute + 1);
    tally.add('active', 'failed', minute + 2);
    tally.add('failed', 'waiting', minute + 3);
    tally.add('waiting', 'waiting', minute + 4);
    tally.add('active', 'completed', minute + 60_000);
    tally.add('completed', undefined, minute + 120_000);
    expect(tally.states).toEqual({ waiting: 1, active: -1, failed: 0, leftFailed: 1, completed: 0 });
    expect([...tally.minutes]).toEqual([
      [minute / 60_000, { completed: 0, failed: 1 }],
      [minute / 60_000 + 1, { completed: 1, failed: 0 }],
    ]);
  });
});
