import { DynamoDbJobStore } from '../../lambda/adapters/dynamodb-job-store';
import { SqsJobQueue } from '../../lambda/adapters/sqs-job-queue';
import type { JobMessage } from '../../lambda/core/job';
import type { JobQueue } from '../../lambda/core/ports';
import { retryFailedJob } from '../../lambda/core/retry-failed-job';
import { sweepStaleDeadLetters } from '../../lambda/core/sweep-stale-dead-letters';
import { storeFailedJob } from '../support/job-fixtures';
import { freshResources } from '../support/resources';
import { startCounting, type Counting } from '../support/stream-counting';

let store: DynamoDbJobStore;
let sqs: SqsJobQueue;
/** The real queue, with its sweeps counted: a sweep not due must not reach SQS at all. */
let queue: JobQueue;
let sweeps = 0;
let counting: Counting;

beforeAll(async () => {
  const resources = await freshResources();
  // the stale copies made are counted from the table's stream
  counting = await startCounting(resources.tableName);
  store = new DynamoDbJobStore({ tableName: resources.tableName, retentionMs: 60_000 });
  sqs = new SqsJobQueue(resources);
  queue = Object.assign(Object.create(sqs) as JobQueue, {
    sweepDeadLetters: (isStale: (m: JobMessage) => Promise<boolean>, max: number) => {
      sweeps++;
      return sqs.sweepDeadLetters(isStale, max);
    },
  });
});

afterAll(() => counting.stop());

const deadLetters = async () => (await sqs.depths()).deadLetter;

describe("the reconciler's dead-letter sweep", () => {
  it('sends nothing to SQS while no job has left failed, even with stale copies in the queue', async () => {
    await storeFailedJob(store, { id: 'still-failed' });
    await sqs.sendToDeadLetter({ jobId: 'still-failed', generation: 0 });
    // a copy of a job that is gone: stale, but nothing retried made it so
    await sqs.sendToDeadLetter({ jobId: 'never-stored', generation: 0 });
    await counting.caughtUp();
    expect(await sweepStaleDeadLetters({ store, queue }, 100)).toBeUndefined();
    expect(sweeps).toBe(0);
    expect((await deadLetters()).visible).toBe(2);
  });

  it('sweeps after a retry until a pass finds nothing stale, then stops', async () => {
    await storeFailedJob(store, { id: 'retried' });
    await sqs.sendToDeadLetter({ jobId: 'retried', generation: 0 });
    await retryFailedJob({ store, queue: sqs }, 'retried');
    await counting.caughtUp();
    // the retried job's copy and the one of the job that is gone
    expect(await sweepStaleDeadLetters({ store, queue }, 100)).toBe(2);
    expect(await sweepStaleDeadLetters({ store, queue }, 100)).toBe(0);
    expect(sweeps).toBe(2);
    expect(await sweepStaleDeadLetters({ store, queue }, 100)).toBeUndefined();
    expect(sweeps).toBe(2);
    expect(await deadLetters()).toMatchObject({ visible: 1 });
  });

  it('sweeps again for a job retried after the last complete sweep', async () => {
    const before = await store.staleCopies();
    expect(before.made).toBe(before.swept);
    await storeFailedJob(store, { id: 'retried-later' });
    await sqs.sendToDeadLetter({ jobId: 'retried-later', generation: 0 });
    await retryFailedJob({ store, queue: sqs }, 'retried-later');
    await counting.caughtUp();
    expect(await store.staleCopies()).toEqual({ made: before.made + 1, swept: before.swept });
    expect(await sweepStaleDeadLetters({ store, queue }, 100)).toBe(1);
  });
});
