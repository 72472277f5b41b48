import { createHash } from 'node:crypto';
import { BUDGETS, LIMITS } from '../core/limits';
import type { Job, JobState } from '../core/job';
import { JOB_TABLE } from './table-schema';

// The shape of a job's items in the table: their keys, the attributes the
// indexes sort and filter on, and the conversions to and from a Job.

const { partitionKey: PK, sortKey: SK, stateIndex, failedByNameIndex, timeToLiveAttribute } = JOB_TABLE;

export const jobKey = (jobId: string) => ({ [PK]: `JOB#${jobId}`, [SK]: 'JOB' });
export const stackKey = (jobId: string) => ({ [PK]: `JOB#${jobId}`, [SK]: 'STACK' });

/**
 * The index shard of a job: FNV-1a of its id, mod the shard count. Stable
 * across versions and processes, as every writer and reader must agree.
 */
export const shardOf = (jobId: string, shards: number): number => {
  let hash = 0x811c9dc5;
  for (let i = 0; i < jobId.length; i++) hash = Math.imul(hash ^ jobId.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % shards;
};

/** The byState partitions: waiting, delayed and active share one, so a claim moves no index entry. */
export type Group = 'pending' | 'completed' | 'failed';
export const groupOf = (state: JobState): Group => (state === 'completed' || state === 'failed' ? state : 'pending');

/**
 * When a job entered its group, which its index entries are sorted by. A
 * pending job's time stays put through claims and failed attempts, so those
 * writes leave its entry alone; a re-send moves it, so the reconciler does
 * not pick the job again on its next pass.
 */
const enteredGroupAt = (job: Job): number => {
  switch (job.state) {
    case 'failed':
      return job.failedAt ?? job.createdAt;
    case 'completed':
      return job.finishedAt ?? job.createdAt;
    default:
      return Math.max(job.retries.at(-1)?.at ?? job.createdAt, job.resentAt ?? 0);
  }
};

/** The latest time a sort key can hold: 15 digits, past any epoch-ms time of this millennium. */
export const MAX_TIME = 999_999_999_999_999;
const TIME_DIGITS = 15;
export const clampTime = (time: number) => Math.min(MAX_TIME, Math.max(0, time));

/**
 * An index sort key: `at` is a time negated (as cursors carry it), written
 * as MAX_TIME + at in 15 digits, so newest first is the forward order; the id
 * after it makes every key unique.
 */
export const orderKey = (at: number, id: string) => `${String(MAX_TIME + at).padStart(TIME_DIGITS, '0')}#${id}`;
export const entryOf = (key: string): Entry => ({
  key,
  at: Number(key.slice(0, TIME_DIGITS)) - MAX_TIME,
  id: key.slice(TIME_DIGITS + 1),
});

/** One index entry, as a listing merges them: its sort key, and the time and id in it. */
export interface Entry {
  readonly key: string;
  readonly at: number;
  readonly id: string;
}

/**
 * A failed job's error, lower-cased, for the error filter: DynamoDB's
 * `contains` is case-sensitive, and filtering in the function instead would
 * bring every item of the partition out of DynamoDB to count them. Lower
 * case can take more bytes than the error (U+0130 becomes two characters),
 * so the copy is cut to the error's own budget, between characters.
 */
export const ERROR_LOWER = 'errorLower';
const searchable = (error: string): string => {
  const lower = Buffer.from(error.toLowerCase(), 'utf8');
  let end = Math.min(lower.length, BUDGETS.errorBytes);
  // never keep part of a character: step back off its continuation bytes (10xxxxxx)
  while (end < lower.length && end > 0 && (lower[end] & 0xc0) === 0x80) end--;
  return lower.subarray(0, end).toString('utf8');
};

/** A stack trace's name: its digest. Failures of one job mostly throw from the same place, with the same stack. */
export const stackDigest = (stacktrace: string) => createHash('sha256').update(stacktrace).digest('base64url').slice(0, 16);
/** Whether `next` records an execution's failure that `previous` does not have. */
export const isNewFailure = (next: Job, previous: Job | undefined): boolean => {
  const last = next.history.at(-1);
  const before = previous?.history.at(-1);
  if (last === undefined || last.outcome === 'completed') return false;
  return before === undefined || before.generation !== last.generation || before.attempt !== last.attempt || before.start !== last.start;
};
/** On a job's item: the digest of the stack its stack item must hold to be this job's. */
export const STACK_OF = 'stackOf';

/** Failed jobs expire after this, unless the store is told otherwise. */
export const DEFAULT_FAILED_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;

// data and returnValue are kept as JSON text: any JSON value round-trips
// exactly, whatever DynamoDB thinks of empty map keys or deep nesting.
// Built by assignment after one spread: an object literal that spreads an
// object with computed keys and then the job takes V8's slow path, about 50
// times longer (a tenth of the task runner's main-thread time per retry).
// The stack trace is not part of it: it has an item of its own (`toStackItem`).
export const toItem = (
  job: Job,
  retentionMs: number,
  shards: number = JOB_TABLE.indexShards,
  failedRetentionMs: number = DEFAULT_FAILED_RETENTION_MS,
): Record<string, unknown> => {
  const failed = job.state === 'failed';
  const shard = shardOf(job.id, shards);
  const sortKey = orderKey(-clampTime(enteredGroupAt(job)), job.id);
  const item: Record<string, unknown> = Object.assign({ ...job }, jobKey(job.id));
  item.data = JSON.stringify(job.data);
  item.returnValue = job.returnValue === undefined ? undefined : JSON.stringify(job.returnValue);
  item.stacktrace = undefined;
  // which stack the stack item must hold to be this job's; absent (so unchanged) when the job was read without it
  item[STACK_OF] = job.stacktrace === undefined ? undefined : stackDigest(job.stacktrace);
  item[stateIndex.partitionKey] = `STATE#${groupOf(job.state)}#${shard}`;
  item[stateIndex.sortKey] = sortKey;
  item[failedByNameIndex.partitionKey] = failed ? `FAILED#${job.name}#${shard}` : undefined;
  item[failedByNameIndex.sortKey] = failed ? sortKey : undefined;
  item[ERROR_LOWER] = failed && job.error !== undefined ? searchable(job.error) : undefined;
  // a retry takes the failed job's expiry away with its state
  item[timeToLiveAttribute] =
    job.state === 'completed'
      ? Math.ceil(((job.finishedAt ?? job.createdAt) + retentionMs) / 1000)
      : failed
        ? Math.ceil(((job.failedAt ?? job.createdAt) + failedRetentionMs) / 1000)
        : undefined;
  return item;
};

/** What an item holds beside the job's own fields, or holds in another form. */
const ITEM_ONLY = new Set<string>([
  PK,
  SK,
  stateIndex.partitionKey,
  stateIndex.sortKey,
  failedByNameIndex.partitionKey,
  failedByNameIndex.sortKey,
  timeToLiveAttribute,
  ERROR_LOWER,
  STACK_OF,
  'data',
  'returnValue',
]);

// copied key by key: a destructuring rest with computed keys takes V8's slow path (a fifth of a Query's parsing)
export const fromItem = (item: Record<string, unknown>): Job => {
  const job: Record<string, unknown> = {};
  for (const key of Object.keys(item)) if (!ITEM_ONLY.has(key)) job[key] = item[key];
  job.data = JSON.parse(item.data as string);
  if (item.returnValue !== undefined) job.returnValue = JSON.parse(item.returnValue as string);
  return job as unknown as Job;
};

/**
 * The stack item of a job's newest failure, named by its digest, so a
 * reader shows it only beside the job whose item names the same one. A failure that may
 * still be retried (delayed) lets its stack expire a retention period past
 * the longest backoff: the job's item may complete and expire meanwhile.
 */
export const toStackItem = (
  job: Job,
  stacktrace: string,
  retentionMs: number,
  now: number,
  failedRetentionMs: number = DEFAULT_FAILED_RETENTION_MS,
): Record<string, unknown> => {
  return {
    ...stackKey(job.id),
    stacktrace,
    digest: stackDigest(stacktrace),
    // a failed job expires after its retention: its stack must not outlive it
    [timeToLiveAttribute]: Math.ceil((now + (job.state === 'failed' ? failedRetentionMs : retentionMs + LIMITS.maxBackoffDelayMs)) / 1000),
  };
};

/**
 * A stack item written as an UpdateItem, which creates the item as readily
 * as a PutItem: the worker, which writes stacks, holds no PutItem grant (it
 * never creates a job).
 */
export const stackUpdate = (tableName: string, item: Record<string, unknown>) => {
  const expiresAt = item[timeToLiveAttribute];
  return {
    TableName: tableName,
    Key: { [PK]: item[PK], [SK]: item[SK] },
    UpdateExpression: `SET #stacktrace = :stacktrace, #digest = :digest` + (expiresAt === undefined ? ' REMOVE #ttl' : ', #ttl = :ttl'),
    ExpressionAttributeNames: { '#stacktrace': 'stacktrace', '#digest': 'digest', '#ttl': timeToLiveAttribute },
    ExpressionAttributeValues: {
      ':stacktrace': item.stacktrace,
      ':digest': item.digest,
      ...(expiresAt === undefined ? {} : { ':ttl': expiresAt }),
    },
  };
};
