/**
 * Jobs written straight into the table, as the worker would have left them:
 * each is built by the core transitions (createJob, claim, moveAfterFailure,
 * moveToCompleted) and stored with the adapter's own `toItem`, and a failed
 * one gets the dead-letter copy the worker sends. Much faster than running
 * 100,000 jobs through the worker, and the same items.
 */
import { randomUUID } from 'node:crypto';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Job, JobOptions } from '../lambda/core/job';
import { claim, createJob, isClaimRefusal, moveAfterFailure, moveToCompleted } from '../lambda/core/transitions';
import { toItem } from '../lambda/adapters/dynamodb-job-item';
import { encodeMessage } from '../lambda/adapters/sqs-job-queue';
import { runConcurrently } from './load';

/** The processor of every seeded job: a retried one completes at once. */
export const SEEDED_JOB_NAME = 'demo.echo';
/** What an enqueue without opts gets (lambda/core/enqueue-request.ts). */
const DEFAULT_OPTS: JobOptions = { attempts: 3, backoff: { type: 'fixed', delay: 0 }, delay: 0 };
/** The runtime's defaults: REQUEUE_VISIBILITY_TIMEOUT 30 s, REQUEUE_RETENTION_DAYS 7. */
export const LEASE_MS = 30_000;
export const RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
const BATCH_WRITE = 25;
const SEND_BATCH = 10;

export const SEEDED_ERROR = 'ECONNRESET: socket hang up';
const SEEDED_STACK = [
  `Error: ${SEEDED_ERROR}`,
  '    at TLSSocket.socketOnEnd (node:_http_client:524:23)',
  '    at TLSSocket.emit (node:events:530:35)',
  '    at endReadableNT (node:internal/streams/readable:1698:12)',
  '    at process.processTicksAndRejections (node:internal/process/task_queues:90:21)',
].join('\n');

const start = (job: Job, at: number): Job => {
  const decision = claim(job, job.generation, at, LEASE_MS);
  if (isClaimRefusal(decision)) throw new Error(`seeding: claim refused (${decision.reason})`);
  return decision.next;
};

/** A job as `POST /jobs` records it, waiting for its first attempt. */
export const newJob = (n: number, createdAt: number): Job =>
  createJob({ id: randomUUID(), name: SEEDED_JOB_NAME, data: { to: `customer-${n}@example.com`, n }, opts: DEFAULT_OPTS }, createdAt);

/** A job that failed all its attempts, the last one ending at `failedAt`. */
export const failedJob = (n: number, failedAt: number): Job => {
  let job = newJob(n, failedAt - 15);
  for (let attempt = 1; ; attempt++) {
    const begin = failedAt - (DEFAULT_OPTS.attempts - attempt) * 5 - 2;
    job = moveAfterFailure(start(job, begin), begin, begin + 2, { message: SEEDED_ERROR, stack: SEEDED_STACK }).next;
    if (job.state === 'failed') return job;
  }
};

/** A job that completed on its first attempt at `finishedAt`. */
export const completedJob = (n: number, finishedAt: number): Job => {
  const job = start(newJob(n, finishedAt - 10), finishedAt - 5);
  return moveToCompleted(job, finishedAt - 5, finishedAt, job.data).next;
};

export interface SeedTarget {
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly sqs: SQSClient;
  readonly deadLetterQueueUrl: string;
  /** BatchWriteItem / SendMessageBatch calls in flight at once. */
  readonly concurrency: number;
}

export interface SeededJob {
  readonly id: string;
  readonly generation: number;
  readonly state: Job['state'];
}

const writeBatch = async ({ doc, tableName }: SeedTarget, items: Record<string, unknown>[]): Promise<void> => {
  let requests = items.map((Item) => ({ PutRequest: { Item } }));
  while (requests.length > 0) {
    const { UnprocessedItems } = await doc.send(new BatchWriteCommand({ RequestItems: { [tableName]: requests } }));
    requests = (UnprocessedItems?.[tableName] ?? []) as typeof requests;
  }
};

/** `count` jobs made by `make(i)`, in BatchWriteItems of 25; failed ones get their dead-letter copy. */
export const seedJobs = async (
  target: SeedTarget,
  count: number,
  make: (i: number) => Job,
): Promise<SeededJob[]> => {
  const seeded: SeededJob[] = new Array(count);
  await runConcurrently(Math.ceil(count / BATCH_WRITE), target.concurrency, async (b) => {
    const jobs: Job[] = [];
    for (let i = b * BATCH_WRITE; i < Math.min(count, (b + 1) * BATCH_WRITE); i++) jobs.push(make(i));
    await writeBatch(target, jobs.map((job) => toItem(job, RETENTION_MS)));
    jobs.forEach((job, k) => (seeded[b * BATCH_WRITE + k] = { id: job.id, generation: job.generation, state: job.state }));
  });
  const failed = seeded.filter((job) => job.state === 'failed');
  await runConcurrently(Math.ceil(failed.length / SEND_BATCH), target.concurrency, async (b) => {
    const chunk = failed.slice(b * SEND_BATCH, (b + 1) * SEND_BATCH);
    const { Failed = [] } = await target.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: target.deadLetterQueueUrl,
        Entries: chunk.map((job, i) => ({
          Id: String(i),
          MessageBody: encodeMessage({ jobId: job.id, generation: job.generation, deadLettered: true }),
        })),
      }),
    );
    if (Failed.length > 0) throw new Error(`seeding: ${Failed.length} dead-letter copies not sent: ${Failed[0]!.Message}`);
  });
  return seeded;
};
