import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { runCostWorkload, type Phase } from '../../bench/cost';
import type { CountedRequest } from '../../bench/cost-counter';
import { atBatchSize, batchGetReadUnits, ceiling, writeUnits } from '../../bench/cost-model';

// The cost model's counts for a tiny workload through the local runtime, exactly:
// a change that adds a request or a write unit per job fails here, and then
// docs/COST.md wants `npm run bench:cost` again.

const s = (S: string): AttributeValue => ({ S });
// a job item as the store writes it: byState keyed by group and shard, the state itself not projected
const job = (state: string, extra: Record<string, AttributeValue> = {}) => ({
  pk: s('JOB#1'),
  sk: s('JOB'),
  state: s(state),
  gsi1pk: s(`STATE#${['waiting', 'active', 'delayed'].includes(state) ? 'pending' : state}#3`),
  gsi1sk: s('998235599999999#1'),
  ...extra,
});
const update = (before: CountedRequest['before'], after: CountedRequest['after'], failed?: string): CountedRequest => ({
  service: 'dynamodb',
  operation: 'UpdateItem',
  caller: 'worker',
  before,
  after,
  ...(failed ? { failed } : {}),
});

describe('write units', () => {
  it('charge a new item and its index entry a put each', () => {
    expect(writeUnits(update(null, job('waiting')))).toEqual({
      table: 1,
      indexes: 1,
      partitions: [
        ['table:JOB#1', 1],
        ['byState:STATE#pending#3', 1],
      ],
    });
  });

  it('charge a claim the item alone: the pending entry keeps its keys and projects no state', () => {
    expect(writeUnits(update(job('waiting'), job('active')))).toEqual({ table: 1, indexes: 0, partitions: [['table:JOB#1', 1]] });
  });

  it('charge a changed index key as a delete of the old entry and a put of the new', () => {
    expect(writeUnits(update(job('active'), job('completed'))).partitions).toEqual([
      ['table:JOB#1', 1],
      ['byState:STATE#pending#3', 1],
      ['byState:STATE#completed#3', 1],
    ]);
  });

  it('charge a projected attribute that changes, and only that', () => {
    const failed = job('failed', { gsi2pk: s('FAILED#demo.fail#3'), gsi2sk: s('998235599999999#1'), errorLower: s('card declined') });
    const again = { ...failed, errorLower: s('card declined again') };
    expect(writeUnits(update(failed, again))).toMatchObject({ indexes: 2 });
  });

  it('charge the larger of the item before and after, per KB, and no index for attributes it does not project', () => {
    const big = job('active', { history: s('x'.repeat(1500)) });
    expect(writeUnits(update(job('active'), big))).toMatchObject({ table: 2, indexes: 0 });
  });

  it('charge a write its condition refused the table units only', () => {
    expect(writeUnits(update(job('active'), job('active'), 'ConditionalCheckFailedException'))).toEqual({
      table: 1,
      indexes: 0,
      partitions: [['table:JOB#1', 1]],
    });
  });
});

describe('BatchGetItem read units', () => {
  const batch = (itemBytes: number[], consistent: boolean): CountedRequest => ({ service: 'dynamodb', operation: 'BatchGetItem', caller: 'worker', itemBytes, consistent });

  it('round each item up to 4 KB, a missing one included, and halve them for an eventually consistent read', () => {
    expect(batchGetReadUnits(batch([358, 0, 4096, 4097], true))).toBe(5);
    expect(batchGetReadUnits(batch([358, 0, 4096, 4097], false))).toBe(2.5);
  });
});

describe('the ceiling', () => {
  const partitions = {
    'table:JOB#a': 9,
    'byState:STATE#pending#0': 2,
    'byState:STATE#pending#5': 2,
    'table:COUNTS#3': 2,
    'table:COUNTS#9': 2,
    'table:DEAD_LETTERS': 0.5,
  };
  const t = { requests: {}, writeUnits: 0, indexWriteUnits: 0, readUnits: 0, sqsBilled: 0, partitions };

  it("takes a sharded key's family over its shards, and leaves each job's own items out", () => {
    // 2 jobs: STATE#pending 4 units over 32 shards, COUNTS 4 over 16 shards, DEAD_LETTERS 0.5 on one key
    expect(ceiling(t, 2, { index: 32, counters: 16 })).toEqual({
      keys: ['table:DEAD_LETTERS'],
      shards: 1,
      shardsSeen: 0,
      unitsPerJob: 0.25,
      unitsPerJobPerShard: 0.25,
      jobsPerSecond: 4000,
    });
    expect(ceiling({ ...t, partitions: { ...partitions, 'table:DEAD_LETTERS': 0 } }, 2, { index: 32, counters: 16 })).toMatchObject({
      keys: ['table:COUNTS#*'],
      shards: 16,
      shardsSeen: 2,
      jobsPerSecond: 8000,
    });
  });
});

describe('a tiny workload through the local runtime', () => {
  let phases: Phase[];
  beforeAll(async () => {
    // stack traces cut to their message line: the counts then do not depend on where the project is checked out
    ({ phases } = await runCostWorkload({ succeeded: 3, failing: 1, stackFrames: 0 }));
  }, 120_000);

  const counts = (name: Phase['name']) => {
    const { usage, jobs } = phases.find((p) => p.name === name)!;
    const { requests, writeUnits: w, indexWriteUnits, readUnits, sqsBilled } = usage.tally;
    return { requests, writeUnits: w, indexWriteUnits, readUnits, sqsBilled, invocations: usage.invocations, hottest: ceiling(usage.tally, jobs) };
  };

  // per job: PutItem create; UpdateItem claim and completion; the stream's one batch of the job's three changes,
  // counted in two UpdateItems (COUNTS, THROUGHPUT) by the counting function, one invocation. Units: all items under
  // 1 KB; index entries are the byState put at create and, at completion, STATE#pending delete + STATE#completed
  // put; the claim keeps the pending entry as it is
  it('counts 3 successful jobs', () => {
    expect(counts('succeeded')).toEqual({
      requests: {
        'dynamodb PutItem': 3,
        'dynamodb UpdateItem': 12,
        'sqs SendMessageBatch': 3,
        'sqs ReceiveMessage': 3,
        'sqs DeleteMessageBatch': 3,
      },
      writeUnits: 24,
      indexWriteUnits: 9,
      readUnits: 0,
      sqsBilled: 9,
      invocations: { api: 3, worker: 3, taskRunner: 0, counter: 3 },
      // STATE#pending takes two entry writes a job over 32 shards; with a batch a job, COUNTS and THROUGHPUT one each
      // over 16: all three allow the same
      hottest: expect.objectContaining({
        keys: ['byState:STATE#pending#*', 'table:COUNTS#*', 'table:THROUGHPUT#*'],
        shards: 32,
        unitsPerJob: 2,
        unitsPerJobPerShard: 0.0625,
        jobsPerSecond: 16_000,
      }),
    });
  });

  // PutItem create; UpdateItems: attempt 1 claim, its stack (JOB#<id>/STACK), the failure to delayed; attempt 2
  // claim and failure, the stack unchanged so not written; attempt 3 claim, failure to failed; then the stream's one
  // batch of the job's changes, COUNTS (failed +1) and THROUGHPUT (one failed execution): 9. Index units: the pending put, then STATE#pending delete +
  // STATE#failed put + FAILED#demo.fail put. Every item stays under 1 KB (the stack is its message line alone):
  // 12 table units. SQS: send, 3 receives, 2 visibility changes, the dead-letter copy, delete
  it('counts a job failing 3 attempts', () => {
    expect(counts('failing')).toEqual({
      requests: {
        'dynamodb PutItem': 1,
        'dynamodb UpdateItem': 9,
        'sqs SendMessageBatch': 1,
        'sqs ReceiveMessage': 3,
        'sqs ChangeMessageVisibilityBatch': 2,
        'sqs SendMessage': 1,
        'sqs DeleteMessageBatch': 1,
      },
      writeUnits: 14,
      indexWriteUnits: 4,
      readUnits: 0,
      sqsBilled: 8,
      invocations: { api: 1, worker: 3, taskRunner: 0, counter: 1 },
      hottest: expect.objectContaining({ shards: 32, unitsPerJob: 2, unitsPerJobPerShard: 0.0625, jobsPerSecond: 16_000 }),
    });
  });

  // reads: one BatchGetItem of the 16 COUNTS shards (consistent, 16 units), the failed listing's 32 shard Queries
  // (0.5 for the one entry), one BatchGetItem of the page's item (1), the Query matching the dead-letter copy (1).
  // UpdateItems: the retry, then 3 attempts as above without the stack write, and the stream's one batch (COUNTS,
  // THROUGHPUT): 9.
  // Index units: STATE#failed delete + STATE#pending put + FAILED delete, and at the end the 3 of a failure; the
  // last write is 2 units, the item past 1 KB with six executions of history. SQS: the send, 3 receives and the
  // dead-letter receive and its empty second, 2 visibility changes, the new dead-letter copy, 2 deletes
  it('counts a retry-all of it, failing 3 attempts again', () => {
    expect(counts('retry-all')).toEqual({
      requests: {
        'dynamodb BatchGetItem': 2,
        'dynamodb Query': 33,
        'dynamodb UpdateItem': 9,
        'sqs SendMessageBatch': 1,
        'sqs ReceiveMessage': 5,
        'sqs ChangeMessageVisibilityBatch': 2,
        'sqs SendMessage': 1,
        'sqs DeleteMessageBatch': 2,
      },
      writeUnits: 16,
      indexWriteUnits: 6,
      readUnits: 18.5,
      sqsBilled: 11,
      invocations: { api: 1, worker: 3, taskRunner: 0, counter: 1 },
      hottest: expect.objectContaining({ shards: 32, unitsPerJob: 2, jobsPerSecond: 16_000 }),
    });
  });

  // a busy queue's batches of 10: the receive and the delete shared by 10 jobs; a busy stream's batches of 100
  // changes (a tenth of its BatchSize, as asked here): the counting function's invocation and its COUNTS and
  // THROUGHPUT updates shared by the 3 changes of each job (create, claim, completion) in 100, 0.06 updates a
  // job; every job write stays per job
  it('spreads what a worker batch and a stream batch pay once over full batches', () => {
    const { usage, jobs } = phases.find((p) => p.name === 'succeeded')!;
    const loaded = atBatchSize(usage, 10, 100);
    const perJob = (n: number) => Math.round((n / jobs) * 1000) / 1000;
    expect({
      receive: perJob(loaded.tally.requests['sqs ReceiveMessage']!),
      delete: perJob(loaded.tally.requests['sqs DeleteMessageBatch']!),
      updates: perJob(loaded.tally.requests['dynamodb UpdateItem']!),
      writeUnits: perJob(loaded.tally.writeUnits),
      sqsBilled: perJob(loaded.tally.sqsBilled),
      worker: perJob(loaded.invocations.worker),
      api: perJob(loaded.invocations.api),
      counter: perJob(loaded.invocations.counter),
    }).toEqual({ receive: 0.1, delete: 0.1, updates: 2.06, writeUnits: 6.06, sqsBilled: 1.2, worker: 0.1, api: 1, counter: 0.03 });
  });

  it('leaves nothing of the workload without its caller', () => {
    // the runtime's own start-up may send a request of no awaited chain before the first job; none after
    expect(phases.slice(1).map((p) => p.unattributed)).toEqual([0, 0]);
  });
});
