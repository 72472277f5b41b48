import { COUNTER_SHARDS, DynamoDbJobCounters } from '../../lambda/adapters/dynamodb-job-counters';
import type { DynamoDbDocuments, UpdateInput } from '../../lambda/adapters/dynamodb-documents';
import { QUEUE_SETTINGS } from '../../lambda/adapters/queue-settings';

// What one second at 10,000 jobs a second writes to the counter items: every
// enqueue request flushes on its own, every worker batch once. A DynamoDB
// partition takes about 1,000 write units a second; each of these updates is
// one (the items are a few hundred bytes).

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

const oneSecondAtFullSpeed = async (counters: DynamoDbJobCounters, at: number) => {
  for (let i = 0; i < JOBS_PER_SECOND; i++) {
    counters.record(undefined, 'waiting', at);
    await counters.flush();
  }
  for (let batch = 0; batch < JOBS_PER_SECOND / QUEUE_SETTINGS.batchSize; batch++) {
    for (let i = 0; i < QUEUE_SETTINGS.batchSize; i++) {
      counters.record('waiting', 'active', at);
      counters.record('active', 'completed', at);
    }
    await counters.flush();
  }
};

describe('counter shards', () => {
  it("keep the hottest counter partition well under a partition's write limit at 10,000 jobs a second", async () => {
    const { db, writes } = recordingDocuments();
    await oneSecondAtFullSpeed(new DynamoDbJobCounters(db, 'jobs'), Date.UTC(2026, 0, 1));
    const total = [...writes.values()].reduce((sum, n) => sum + n, 0);
    const hottest = Math.max(...writes.values());
    // one write per enqueue, two per worker batch (states and the minute's throughput)
    expect(total).toBe(JOBS_PER_SECOND + 2 * (JOBS_PER_SECOND / QUEUE_SETTINGS.batchSize));
    expect(new Set([...writes.keys()].filter((pk) => pk.startsWith('COUNTS#'))).size).toBe(COUNTER_SHARDS);
    expect(hottest).toBeLessThan(0.8 * PARTITION_WCU_PER_SECOND);
    expect(hottest / total).toBeLessThan(0.1);
  });

  it('would put every write on one partition with a single shard (what the limit above guards against)', async () => {
    const { db, writes } = recordingDocuments();
    await oneSecondAtFullSpeed(new DynamoDbJobCounters(db, 'jobs', { shards: 1 }), Date.UTC(2026, 0, 1));
    expect(Math.max(...writes.values())).toBeGreaterThan(PARTITION_WCU_PER_SECOND);
  });
});
