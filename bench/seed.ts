// Jobs written straight into the table as the worker would have left them (the core's transitions, the adapter's
// `toItem`, a failed one's dead-letter copy): the items of 100,000 jobs run through the worker, far faster.
import { randomUUID } from 'node:crypto';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { toItem } from '../lambda/adapters/dynamodb-job-item';
import { encodeMessage } from '../lambda/adapters/sqs-job-queue';
import type { Job, JobOptions } from '../lambda/core/job';
import { claim, createJob, isClaimRefusal, moveAfterFailure, moveToCompleted } from '../lambda/core/transitions';
import { runConcurrently } from './load';

/** The processor of every seeded job: a retried one completes at once. */
export const SEEDED_JOB_NAME = 'demo.echo';
/** What an enqueue without opts gets (lambda/core/enqueue-request.ts). */
const DEFAULT_OPTS: JobOptions = { attempts: 3, backoff: { type: 'fixed', delay: 0 }, delay: 0 };
/** The runtime's defaults: REQUEUE_VISIBILITY_TIMEOUT 30 s, REQUEUE_RETENTION_DAYS 7. */
export const LEASE_MS = 30_000;
export const RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

const MESSAGE = 'ECONNRESET: socket hang up';
const SEEDED_ERROR = { message: MESSAGE, stack: `Error: ${MESSAGE}
    at TLSSocket.socketOnEnd (node:_http_client:524:23)
    at TLSSocket.emit (node:events:530:35)
    at endReadableNT (node:internal/streams/readable:1698:12)
    at process.processTicksAndRejections (node:internal/process/task_queues:90:21)` };

const start = (job: Job, at: number): Job => {
  const decision = claim(job, job.generation, at, LEASE_MS);
  if (isClaimRefusal(decision)) throw new Error(`seeding: claim refused (${decision.reason})`);
  return decision.next;
};

export const newJob = (n: number, createdAt: number): Job => {
  const data = { to: `customer-${n}@example.com`, n };
  return createJob({ id: randomUUID(), name: SEEDED_JOB_NAME, data, opts: DEFAULT_OPTS }, createdAt);
};

/** Failed on all its attempts, the last one ending at `failedAt`. */
export const failedJob = (n: number, failedAt: number): Job => {
  let job = newJob(n, failedAt - 15);
  for (let attempt = 1; job.state !== 'failed'; attempt++) {
    const begin = failedAt - (DEFAULT_OPTS.attempts - attempt) * 5 - 2;
    job = moveAfterFailure(start(job, begin), begin, begin + 2, SEEDED_ERROR).next;
  }
  return job;
};

export const completedJob = (n: number, finishedAt: number): Job => {
  const job = start(newJob(n, finishedAt - 10), finishedAt - 5);
  return moveToCompleted(job, finishedAt - 5, finishedAt, job.data).next;
};

/** `concurrency`: BatchWriteItem / SendMessageBatch calls in flight at once. */
export interface SeedTarget {
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly sqs: SQSClient;
  readonly deadLetterQueueUrl: string;
  readonly concurrency: number;
}

/** `count` jobs made by `make(i)`, in BatchWriteItems of 25, then the failed ones' dead-letter copies. */
export const seedJobs = async (target: SeedTarget, count: number, make: (i: number) => Job): Promise<Job[]> => {
  const { doc, tableName, sqs, deadLetterQueueUrl, concurrency } = target;
  const jobs = Array.from({ length: count }, (_, i) => make(i));
  const inBatches = (all: readonly Job[], size: number, send: (batch: readonly Job[]) => Promise<void>) =>
    runConcurrently(Math.ceil(all.length / size), concurrency, (b) => send(all.slice(b * size, (b + 1) * size)));
  await inBatches(jobs, 25, async (batch) => {
    let requests = batch.map((job) => ({ PutRequest: { Item: toItem(job, RETENTION_MS) } }));
    while (requests.length > 0) {
      const { UnprocessedItems } = await doc.send(new BatchWriteCommand({ RequestItems: { [tableName]: requests } }));
      requests = (UnprocessedItems?.[tableName] ?? []) as typeof requests;
    }
  });
  await inBatches(jobs.filter((job) => job.state === 'failed'), 10, async (batch) => {
    const copy = (job: Job) => encodeMessage({ jobId: job.id, generation: job.generation, deadLettered: true });
    const Entries = batch.map((job, i) => ({ Id: String(i), MessageBody: copy(job) }));
    const { Failed = [] } = await sqs.send(new SendMessageBatchCommand({ QueueUrl: deadLetterQueueUrl, Entries }));
    if (Failed.length > 0) throw new Error(`seeding: ${Failed.length} dead letters unsent: ${Failed[0]!.Message}`);
  });
  return jobs;
};
