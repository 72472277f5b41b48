import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { runCostWorkload, type Phase } from '../../bench/cost';
import type { CountedRequest } from '../../bench/cost-counter';
import { ceiling, writeUnits } from '../../bench/cost-model';

// The cost model's counts for a tiny workload through the local runtime, exactly:
// a change that adds a request or a write unit per job fails here, and then
// docs/COST.md wants `npm run bench:cost` again.

const s = (S: string): AttributeValue => ({ S });
const n = (N: number): AttributeValue => ({ N: String(N) });
const job = (state: string, extra: Record<string, AttributeValue> = {}) => ({
  pk: s('JOB#1'),
  sk: s('JOB'),
  state: s(state),
  gsi1pk: s(`STATE#${state}`),
  gsi1sk: n(1),
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
        ['byState:STATE#waiting', 1],
      ],
    });
  });

  it('charge a changed index key as a delete of the old entry and a put of the new', () => {
    expect(writeUnits(update(job('waiting'), job('active'))).partitions).toEqual([
      ['table:JOB#1', 1],
      ['byState:STATE#waiting', 1],
      ['byState:STATE#active', 1],
    ]);
  });

  it('charge the larger of the item before and after, per KB', () => {
    const big = job('active', { stack: s('x'.repeat(1500)) });
    expect(writeUnits(update(job('active'), big))).toMatchObject({ table: 2, indexes: 2 });
  });

  it('charge a write its condition refused the table units only', () => {
    expect(writeUnits(update(job('active'), job('active'), 'ConditionalCheckFailedException'))).toEqual({
      table: 1,
      indexes: 0,
      partitions: [['table:JOB#1', 1]],
    });
  });
});

describe('a tiny workload through the local runtime', () => {
  let phases: Phase[];
  beforeAll(async () => {
    ({ phases } = await runCostWorkload({ succeeded: 3, failing: 1 }));
  }, 120_000);

  const counts = (name: Phase['name']) => {
    const { usage, jobs } = phases.find((p) => p.name === name)!;
    const { requests, writeUnits: w, indexWriteUnits, readUnits, sqsBilled } = usage.tally;
    return { requests, writeUnits: w, indexWriteUnits, readUnits, sqsBilled, invocations: usage.invocations, hottest: ceiling(usage.tally, jobs) };
  };

  it('counts 3 successful jobs', () => {
    expect(counts('succeeded')).toEqual({
      requests: {
        'dynamodb PutItem': 3,
        'dynamodb UpdateItem': 15,
        'sqs SendMessageBatch': 3,
        'sqs ReceiveMessage': 3,
        'sqs DeleteMessageBatch': 3,
      },
      writeUnits: 33,
      indexWriteUnits: 15,
      readUnits: 0,
      sqsBilled: 9,
      invocations: { api: 3, worker: 3, taskRunner: 0 },
      hottest: { keys: ['byState:STATE#active', 'byState:STATE#waiting', 'table:COUNTS'], unitsPerJob: 2, jobsPerSecond: 500 },
    });
  });

  it('counts a job failing 3 attempts', () => {
    expect(counts('failing')).toEqual({
      requests: {
        'dynamodb PutItem': 1,
        'dynamodb UpdateItem': 10,
        'sqs SendMessageBatch': 1,
        'sqs ReceiveMessage': 3,
        'sqs ChangeMessageVisibility': 2,
        'sqs SendMessage': 1,
        'sqs DeleteMessageBatch': 1,
      },
      writeUnits: 40,
      indexWriteUnits: 24,
      readUnits: 0,
      sqsBilled: 8,
      invocations: { api: 1, worker: 3, taskRunner: 0 },
      hottest: { keys: ['byState:STATE#active'], unitsPerJob: 10, jobsPerSecond: 100 },
    });
  });

  it('counts a retry-all of it, failing 3 attempts again', () => {
    expect(counts('retry-all')).toEqual({
      requests: {
        'dynamodb Query': 2,
        'dynamodb GetItem': 1,
        'dynamodb UpdateItem': 11,
        'sqs SendMessageBatch': 1,
        'sqs ReceiveMessage': 5,
        'sqs ChangeMessageVisibility': 2,
        'sqs SendMessage': 1,
        'sqs DeleteMessageBatch': 2,
      },
      writeUnits: 50,
      indexWriteUnits: 32,
      readUnits: 2.5,
      sqsBilled: 11,
      invocations: { api: 1, worker: 3, taskRunner: 0 },
      hottest: { keys: ['byState:STATE#active'], unitsPerJob: 12, jobsPerSecond: 1000 / 12 },
    });
  });

  it('leaves nothing of the workload without its caller', () => {
    // the runtime's own start-up may send a request of no awaited chain before the first job; none after
    expect(phases.slice(1).map((p) => p.unattributed)).toEqual([0, 0]);
  });
});
