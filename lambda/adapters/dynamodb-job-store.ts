import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DuplicateJobError, JobWriteRefusedError, StateConflictError, ValidationError } from '../core/errors';
import type { FailedJobFilter } from '../core/failed-job-filter';
import { BUDGETS, LIMITS } from '../core/limits';
import { stateChangedAt, type FailedJobSummary, type Job, type JobState, type JobSummary } from '../core/job';
import type { CounterChanges, JobStore, MinuteThroughput, Page } from '../core/ports';
import { claim, isClaimRefusal, type Expectation } from '../core/transitions';
import { DynamoDbDocuments, type Document, type QueryOutput } from './dynamodb-documents';
import { queryPages } from './dynamodb-query-pages';
import { DynamoDbJobCounters } from './dynamodb-job-counters';
import { isUnavailable, rethrowSdkError } from './dependency-errors';
import { JOB_TABLE } from './table-schema';

const { partitionKey: PK, sortKey: SK, stateIndex, failedByNameIndex, timeToLiveAttribute } = JOB_TABLE;

/** Claimed jobs whose stored stack a store remembers until their outcome, at most (a worker runs a batch at a time). */
const MAX_CLAIMED_STACKS = 10_000;

/** Index entries a recount reads per page (a COUNT Query reads 1 MB at most anyway). */
const COUNT_PAGE = 5_000;
/** A recount's page of pending entries: their items are read by key, so it is kept to a few BatchGetItems. */
const PENDING_COUNT_PAGE = 500;

type IndexKeys = { readonly name: string; readonly partitionKey: string; readonly sortKey: string };

export const jobKey = (jobId: string) => ({ [PK]: `JOB#${jobId}`, [SK]: 'JOB' });
const stackKey = (jobId: string) => ({ [PK]: `JOB#${jobId}`, [SK]: 'STACK' });

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
type Group = 'pending' | 'completed' | 'failed';
const groupOf = (state: JobState): Group => (state === 'completed' || state === 'failed' ? state : 'pending');

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
const MAX_TIME = 999_999_999_999_999;
const TIME_DIGITS = 15;
const clampTime = (time: number) => Math.min(MAX_TIME, Math.max(0, time));

/**
 * An index sort key: `at` is a time negated (as cursors carry it), written
 * as MAX_TIME + at in 15 digits, so newest first is the forward order; the id
 * after it makes every key unique.
 */
const orderKey = (at: number, id: string) => `${String(MAX_TIME + at).padStart(TIME_DIGITS, '0')}#${id}`;
const entryOf = (key: string): Entry => ({
  key,
  at: Number(key.slice(0, TIME_DIGITS)) - MAX_TIME,
  id: key.slice(TIME_DIGITS + 1),
});

/** One index entry, as a listing merges them: its sort key, and the time and id in it. */
interface Entry {
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
const ERROR_LOWER = 'errorLower';
const searchable = (error: string): string => {
  const lower = Buffer.from(error.toLowerCase(), 'utf8');
  let end = Math.min(lower.length, BUDGETS.errorBytes);
  // never keep part of a character: step back off its continuation bytes (10xxxxxx)
  while (end < lower.length && end > 0 && (lower[end] & 0xc0) === 0x80) end--;
  return lower.subarray(0, end).toString('utf8');
};

/** A stack trace's name: its digest. Failures of one job mostly throw from the same place, with the same stack. */
const stackDigest = (stacktrace: string) => createHash('sha256').update(stacktrace).digest('base64url').slice(0, 16);
/** Whether `next` records an execution's failure that `previous` does not have. */
const isNewFailure = (next: Job, previous: Job | undefined): boolean => {
  const last = next.history.at(-1);
  const before = previous?.history.at(-1);
  if (last === undefined || last.outcome === 'completed') return false;
  return before === undefined || before.generation !== last.generation || before.attempt !== last.attempt || before.start !== last.start;
};
/** On a job's item: the digest of the stack its stack item must hold to be this job's. */
const STACK_OF = 'stackOf';

// data and returnValue are kept as JSON text: any JSON value round-trips
// exactly, whatever DynamoDB thinks of empty map keys or deep nesting.
// Built by assignment after one spread: an object literal that spreads an
// object with computed keys and then the job took V8's slow path, about 50
// times longer (a tenth of the task runner's main-thread time per retry).
/** Failed jobs expire after this, unless the store is told otherwise. */
export const DEFAULT_FAILED_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;

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

// copied key by key: a destructuring rest with computed keys took V8's slow path (a fifth of a Query's parsing)
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

/** The condition a write must meet for `expect` to hold, as DynamoDB expression parts. */
const conditionFor = (expect: Expectation) => {
  const names: Record<string, string> = { '#state': 'state', '#generation': 'generation' };
  const values: Record<string, unknown> = { ':generation': expect.generation };
  const states = expect.states.map((state, i) => {
    values[`:s${i}`] = state;
    return `:s${i}`;
  });
  // dynalite parses `#state = :s0` in a fifth of the time of `#state IN (:s0)`
  const parts = [states.length === 1 ? `#state = ${states[0]}` : `#state IN (${states.join(', ')})`, '#generation = :generation'];
  if (expect.attempts !== undefined) {
    names['#attempts'] = 'attempts';
    values[':attempts'] = expect.attempts;
    parts.push('#attempts = :attempts');
  }
  if (expect.activeLeaseEndedBefore !== undefined) {
    names['#leaseUntil'] = 'leaseUntil';
    values[':leaseEnd'] = expect.activeLeaseEndedBefore;
    parts.push('#leaseUntil < :leaseEnd');
  }
  return { ConditionExpression: parts.join(' AND '), ExpressionAttributeNames: names, ExpressionAttributeValues: values };
};

/**
 * An update that turns the item `from` into the item `to`, attribute by
 * attribute, under `condition`: SET what differs, REMOVE what `to` lacks.
 */
export const changesBetween = (
  from: Record<string, unknown>,
  to: Record<string, unknown>,
  condition: ReturnType<typeof conditionFor>,
) => {
  // copied with Object.assign: a spread copy that then gains keys is some 40 times slower in V8
  const names: Record<string, string> = Object.assign({}, condition.ExpressionAttributeNames);
  const values: Record<string, unknown> = Object.assign({}, condition.ExpressionAttributeValues);
  const set: string[] = [];
  const remove: string[] = [];
  let n = 0;
  for (const key of new Set([...Object.keys(from), ...Object.keys(to)])) {
    if (key === PK || key === SK) continue;
    const before = from[key];
    const after = to[key];
    // a transition keeps what it does not change (the history, the data): the same value, not compared as JSON
    if (after === before) continue;
    if (after !== undefined && typeof after === 'object' && JSON.stringify(after) === JSON.stringify(before)) continue;
    names[`#c${n}`] = key;
    if (after === undefined) {
      remove.push(`#c${n}`);
    } else {
      values[`:c${n}`] = after;
      set.push(`#c${n} = :c${n}`);
    }
    n++;
  }
  const clauses = [set.length > 0 ? `SET ${set.join(', ')}` : '', remove.length > 0 ? `REMOVE ${remove.join(', ')}` : ''];
  return {
    // an unchanged job still has its condition checked: SET one attribute to what it is
    UpdateExpression: clauses.filter(Boolean).join(' ') || 'SET #state = #state',
    ConditionExpression: condition.ConditionExpression,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
};

/** `name`: for the states whose index partitions hold every name, the items read are filtered on it. */
type IndexRange = { readonly since?: number; readonly until?: number; readonly error?: string; readonly name?: string };

/**
 * A listing: the index it reads, the partition prefix its shards share
 * (`<prefix>#<shard>`), and the state its jobs must be in (the pending
 * partitions hold three states: the items read tell them apart).
 */
interface Listing {
  readonly index: IndexKeys;
  readonly prefix: string;
  readonly state: JobState;
}

const stateListing = (state: JobState): Listing => ({ index: stateIndex, prefix: `STATE#${groupOf(state)}`, state });
const failedListing = (filter: FailedJobFilter): Listing =>
  filter.name === undefined
    ? stateListing('failed')
    : { index: failedByNameIndex, prefix: `FAILED#${filter.name}`, state: 'failed' };

/** Where a page ended: the last job it took, as that job's id and the negated time of its sort key. */
interface CursorKey {
  readonly id: string;
  readonly at: number;
}

const CURSOR_VERSION = 1;
const BAD_CURSOR = 'cursor is not valid: pass the X-Next-Cursor value of the previous page unchanged, with the same filters';

/**
 * What a cursor is bound to: the index, its partitions (the listing and the
 * name filter), the state and the other filters. A cursor carries this
 * digest, so one reused with other filters is refused rather than read as a
 * position in a query it was never part of. No secret is needed: a forger
 * who computes the digest can only name a well-formed position of this very
 * query, which {@link decodeCursor} checks in full.
 */
const queryDigest = ({ index, prefix, state }: Listing, { since, until, error, name }: IndexRange): string =>
  createHash('sha256')
    .update(JSON.stringify([index.name, prefix, state, since ?? null, until ?? null, error ?? null, ...(name !== undefined ? [name] : [])]))
    .digest('base64url')
    .slice(0, 16);

const encodeCursor = (digest: string, key: CursorKey): string =>
  Buffer.from(JSON.stringify({ v: CURSOR_VERSION, q: digest, id: key.id, at: key.at })).toString('base64url');

/** The range of negated times the query reads: a cursor's position must lie in it. */
const sortKeyRange = ({ since, until }: IndexRange): [number, number] => [
  -clampTime(until ?? MAX_TIME),
  -clampTime(since ?? 0),
];

const CURSOR_TEXT = /^[A-Za-z0-9_-]{1,1024}$/;
/** Any id a job may have been stored with: dots alone were allowed before JOB_ID_PATTERN refused them. */
const STORED_JOB_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * A cursor, checked in full: its version, its query digest, a job id as
 * stored and a whole-number time within the query's range, in the one
 * spelling encodeCursor gives. The sort key every shard resumes after is
 * rebuilt from these, never taken from the caller.
 */
const decodeCursor = (cursor: string, listing: Listing, range: IndexRange): string => {
  if (!CURSOR_TEXT.test(cursor)) throw new ValidationError(BAD_CURSOR);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new ValidationError(BAD_CURSOR);
  }
  const k = parsed as Record<string, unknown>;
  const digest = queryDigest(listing, range);
  const [low, high] = sortKeyRange(range);
  const valid =
    typeof k === 'object' &&
    k !== null &&
    !Array.isArray(k) &&
    k.v === CURSOR_VERSION &&
    k.q === digest &&
    typeof k.id === 'string' &&
    STORED_JOB_ID.test(k.id) &&
    Number.isSafeInteger(k.at) &&
    (k.at as number) >= low &&
    (k.at as number) <= high &&
    encodeCursor(digest, { id: k.id, at: k.at as number }) === cursor;
  if (!valid) throw new ValidationError(BAD_CURSOR);
  return orderKey(k.at as number, k.id as string);
};

/**
 * The query of one shard of a listing, its time within [since, until] (and
 * past `after`, a sort key already taken), its error containing `error`, in
 * the index's forward order: newest first. Only the sort key comes back; it
 * holds the job's id.
 */
const shardQuery = (tableName: string, { index }: Listing, { since, until, error }: IndexRange, after?: string) => {
  const [low, high] = sortKeyRange({ since, until });
  const names: Record<string, string> = { '#pk': index.partitionKey, '#sk': index.sortKey };
  const values: Record<string, unknown> = { ':low': after ?? orderKey(low, ''), ':high': `${orderKey(high, '')}~` };
  if (error !== undefined) {
    names['#errorLower'] = ERROR_LOWER;
    values[':errorLower'] = error.toLowerCase();
  }
  return {
    TableName: tableName,
    IndexName: index.name,
    KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :low AND :high',
    ...(error !== undefined ? { FilterExpression: 'contains(#errorLower, :errorLower)' } : {}),
    ProjectionExpression: '#sk',
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
};

/** One shard's entries read so far and not yet taken, and where its Query goes on. */
interface ShardReader {
  readonly pages: AsyncGenerator<QueryOutput, void, undefined>;
  readonly entries: Entry[];
  next: number;
  /** The Limit of the shard's next page: what the merge wants of it. */
  limit: number;
  done: boolean;
}

/**
 * The entries of every shard of a listing, merged into one newest-first
 * order (their sort keys are unique). A shard is read only when the merge
 * needs its next entry, some more than its share at a time: ids hash evenly
 * over the shards, so a page of n takes about n / shards from each.
 */
class MergedShards {
  private readonly readers: ShardReader[];

  constructor(
    db: DynamoDbDocuments,
    private readonly query: ReturnType<typeof shardQuery>,
    listing: Listing,
    shards: number,
    private readonly after: string | undefined,
  ) {
    this.readers = Array.from({ length: shards }, (_, shard) => {
      const reader: ShardReader = {
        pages: queryPages(
          db,
          { ...query, ExpressionAttributeValues: { ...query.ExpressionAttributeValues, ':pk': `${listing.prefix}#${shard}` } },
          () => reader.limit,
        ),
        entries: [],
        next: 0,
        limit: 0,
        done: false,
      };
      return reader;
    });
  }

  /** Up to `n` more entries, in order. */
  async take(n: number): Promise<Entry[]> {
    const taken: Entry[] = [];
    while (taken.length < n) {
      const want = n - taken.length;
      const empty = this.readers.filter((r) => r.next === r.entries.length && !r.done);
      // every unfinished shard must show its next entry before the merge may pick one
      if (empty.length > 0) await Promise.all(empty.map((r) => this.read(r, want)));
      let best: ShardReader | undefined;
      for (const r of this.readers) {
        if (r.next < r.entries.length && (!best || r.entries[r.next].key < best.entries[best.next].key)) best = r;
      }
      if (!best) break;
      taken.push(best.entries[best.next++]);
    }
    return taken;
  }

  /** Whether an entry may remain: one read and not taken, or a shard not read to its end. */
  get mayHaveMore(): boolean {
    return this.readers.some((r) => r.next < r.entries.length || !r.done);
  }

  private async read(r: ShardReader, want: number): Promise<void> {
    r.limit = Math.min(want + 1, Math.ceil((2 * want) / this.readers.length) + 8);
    const { value: page } = await r.pages.next();
    r.entries.splice(0, r.next);
    r.next = 0;
    for (const item of page?.Items ?? []) {
      const key = item[this.query.ExpressionAttributeNames['#sk']] as string;
      // a cursor's own entry starts the range: it was taken on the page before
      if (key !== this.after) r.entries.push(entryOf(key));
    }
    r.done = page?.LastEvaluatedKey === undefined;
  }
}

/** Which attributes a page reads of each item (all when absent), and what it makes of each. */
interface Projection<T> {
  readonly attributes?: readonly string[];
  readonly map: (item: Record<string, unknown>) => T;
  /** Cut a page before its items, as the response carries them, pass this many bytes. @default no cut */
  readonly maxPageBytes?: number;
}

/**
 * A listing's page leaves Lambda as the JSON text of an array inside the
 * JSON of the function's result: Lambda refuses results over 6 MB, counted
 * with the body escaped once more (each quote and backslash twice). Pages
 * stop before 5 MB so counted, whatever the size of the jobs' data.
 */
export const MAX_PAGE_BYTES = 5_000_000;

/** An item's bytes in the page as Lambda returns it, its separating comma included. */
const bytesInResponse = (item: unknown): number => Buffer.byteLength(JSON.stringify(JSON.stringify(item))) - 2 + 1;

const WHOLE_JOB: Projection<Job> = { map: fromItem };

const SUMMARY: Projection<FailedJobSummary> = {
  attributes: ['id', 'name', 'data', 'error', 'failedAt', 'attempts', 'maxAttempts'],
  map: (item) => ({
    id: item.id as string,
    name: item.name as string,
    data: JSON.parse(item.data as string),
    error: (item.error as string | undefined) ?? null,
    failedAt: (item.failedAt as number | undefined) ?? null,
    attempts: item.attempts as number,
    maxAttempts: item.maxAttempts as number,
  }),
  maxPageBytes: MAX_PAGE_BYTES,
};

/** A failed-job filter as an index range: its name picks the failedByName partition, it filters nothing. */
const failedRange = ({ since, until, error }: FailedJobFilter): IndexRange => ({ since, until, error });

/** Summaries of any state: the time in the byState sort key is when the job entered its group, as listings sort it. */
const JOB_SUMMARY: Projection<JobSummary> = {
  attributes: ['id', 'name', 'state', 'attempts', 'maxAttempts', 'createdAt', 'runAt', 'failedAt', 'error', stateIndex.sortKey],
  map: (item) => ({
    id: item.id as string,
    name: item.name as string,
    state: item.state as JobState,
    attempts: item.attempts as number,
    maxAttempts: item.maxAttempts as number,
    createdAt: item.createdAt as number,
    updatedAt: -entryOf(item[stateIndex.sortKey] as string).at,
    ...(item.runAt !== undefined ? { runAt: item.runAt as number } : {}),
    ...(item.failedAt !== undefined ? { failedAt: item.failedAt as number } : {}),
    ...(item.error !== undefined ? { error: item.error as string } : {}),
  }),
  maxPageBytes: MAX_PAGE_BYTES,
};

const describeRefusal = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

export interface DynamoDbJobStoreProps {
  readonly tableName: string;
  /** Completed jobs expire (TTL) this long after they finish. */
  readonly retentionMs: number;
  /** Shards of each index partition; the same in every function of a table. @default JOB_TABLE.indexShards */
  readonly indexShards?: number;
  /** Failed jobs expire (TTL) this long after they fail. @default 30 days */
  readonly failedRetentionMs?: number;
  /** @default a client configured from the environment */
  readonly client?: DynamoDBClient;
}

export class DynamoDbJobStore implements JobStore {
  private readonly db: DynamoDbDocuments;
  private readonly tableName: string;
  private readonly retentionMs: number;
  private readonly shards: number;
  private readonly failedRetentionMs: number;
  private readonly counters: DynamoDbJobCounters;
  /** The stack digest of each job this process claimed and has not saved since. */
  private readonly claimedStacks = new Map<string, string>();

  constructor(props: DynamoDbJobStoreProps) {
    this.db = new DynamoDbDocuments(props.client);
    this.tableName = props.tableName;
    this.retentionMs = props.retentionMs;
    this.shards = props.indexShards ?? JOB_TABLE.indexShards;
    if (!Number.isSafeInteger(this.shards) || this.shards < 1) throw new RangeError(`indexShards must be a whole number from 1, got ${this.shards}`);
    this.failedRetentionMs = props.failedRetentionMs ?? DEFAULT_FAILED_RETENTION_MS;
    this.counters = new DynamoDbJobCounters(this.db, this.tableName);
  }

  async create(job: Job): Promise<void> {
    try {
      await this.db.put({
        TableName: this.tableName,
        Item: toItem(job, this.retentionMs, this.shards, this.failedRetentionMs),
        // ids are the callers' to choose (opts.jobId): never overwrite one
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': PK },
      });
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new DuplicateJobError(job.id);
      rethrowSdkError(error, 'DynamoDB');
    }
  }

  /** The job and its stack item, in one Query of its partition. */
  async get(jobId: string): Promise<Job | undefined> {
    try {
      const { Items } = await this.db.query({
        TableName: this.tableName,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': PK },
        ExpressionAttributeValues: { ':pk': jobKey(jobId)[PK] },
        ConsistentRead: true,
      });
      const item = Items.find((i) => i[SK] === 'JOB');
      if (!item) return undefined;
      const job = fromItem(item);
      const stack = Items.find((i) => i[SK] === 'STACK');
      // a stack of another failure (one whose outcome was not written, or was written without it) is not this job's
      const current = stack !== undefined && item[STACK_OF] !== undefined && stack.digest === item[STACK_OF];
      return current ? { ...job, stacktrace: stack.stacktrace as string } : job;
    } catch (error) {
      return rethrowSdkError(error, 'DynamoDB');
    }
  }

  async save(next: Job, expect: Expectation, previous?: Job): Promise<void> {
    // the stack a job's item names as read (by get, or by the claim this save follows); unknown: write it
    const stored = previous?.stacktrace !== undefined ? stackDigest(previous.stacktrace) : this.claimedStacks.get(next.id);
    this.claimedStacks.delete(next.id);
    if (next.stacktrace !== undefined && stackDigest(next.stacktrace) !== stored) await this.saveStack(next, next.stacktrace);
    try {
      // One conditional write per transition: of two writers that read the same
      // job (two workers, two retries), only the first still finds it as read.
      // Knowing the job as read, only what changed is sent: the history,
      // data and error of a job stay where they are.
      const item = toItem(next, this.retentionMs, this.shards, this.failedRetentionMs);
      const condition = conditionFor(expect);
      if (previous === undefined) {
        await this.db.put({ TableName: this.tableName, Item: item, ...condition });
      } else {
        const before = toItem(previous, this.retentionMs, this.shards, this.failedRetentionMs);
        // a failure recorded without a stack (none thrown, or refused) has none: the stored one is another's
        if (item[STACK_OF] === undefined && isNewFailure(next, previous)) before[STACK_OF] = 'the stored one';
        const changes = changesBetween(before, item, condition);
        await this.db.update({ TableName: this.tableName, Key: jobKey(next.id), ...changes });
      }
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        throw new StateConflictError(next.id, `Job ${next.id} changed since it was read`, { cause: error });
      }
      if (isUnavailable(error)) rethrowSdkError(error, 'DynamoDB');
      // anything else will be refused again as it is (an item past 400 KB, a malformed value): say so, and why
      throw new JobWriteRefusedError(next.id, describeRefusal(error), { cause: error });
    }
  }

  /**
   * Written before the job's own write, so a reader that sees the failure
   * sees its stack, and only when it differs from the one stored: a job
   * failing the same way again writes its item alone. The job's item names
   * the stack it has (`stackOf`): a stack written by a writer that then
   * lost its conditional write, or crashed, or was refused and wrote its
   * outcome without the stack, is never shown as the job's.
   */
  private async saveStack(job: Job, stacktrace: string): Promise<void> {
    const { [PK]: _pk, [SK]: _sk, [timeToLiveAttribute]: expiresAt, ...stack } = toStackItem(job, stacktrace, this.retentionMs, Date.now(), this.failedRetentionMs);
    try {
      // an UpdateItem, which creates the item as readily as a PutItem: the worker,
      // which writes stacks, holds no PutItem grant (it never creates a job)
      await this.db.update({
        TableName: this.tableName,
        Key: stackKey(job.id),
        UpdateExpression:
          `SET #stacktrace = :stacktrace, #digest = :digest` + (expiresAt === undefined ? ' REMOVE #ttl' : ', #ttl = :ttl'),
        ExpressionAttributeNames: { '#stacktrace': 'stacktrace', '#digest': 'digest', '#ttl': timeToLiveAttribute },
        ExpressionAttributeValues: {
          ':stacktrace': stack.stacktrace,
          ':digest': stack.digest,
          ...(expiresAt === undefined ? {} : { ':ttl': expiresAt }),
        },
      });
    } catch (error) {
      rethrowSdkError(error, 'DynamoDB');
    }
  }

  async claim(jobId: string, generation: number, now: number, leaseMs: number): Promise<Job | undefined> {
    let old: Record<string, unknown> | undefined;
    try {
      // the same rule as transitions.ts `claim`, as one update: no read first, and
      // no index key changes (a pending job keeps its entry), so the job's item is all it writes
      old = await this.db.update({
        TableName: this.tableName,
        Key: jobKey(jobId),
        UpdateExpression:
          'SET #state = :active, #attempts = #attempts + :one, #processedAt = :now, #leaseUntil = :lease REMOVE #runAt',
        // waiting, or delayed and due; spelt out with no parentheses, as dynalite's parser
        // backtracks on each level (1.4 ms a parse at one level, 6 ms at three, 0.08 ms at none)
        ConditionExpression:
          '#generation = :generation AND #state = :waiting OR ' +
          '#generation = :generation AND #state = :delayed AND attribute_not_exists(#runAt) OR ' +
          '#generation = :generation AND #state = :delayed AND #runAt <= :now',
        ExpressionAttributeNames: {
          '#state': 'state',
          '#attempts': 'attempts',
          '#processedAt': 'processedAt',
          '#leaseUntil': 'leaseUntil',
          '#runAt': 'runAt',
          '#generation': 'generation',
        },
        ExpressionAttributeValues: {
          ':active': 'active',
          ':waiting': 'waiting',
          ':delayed': 'delayed',
          ':one': 1,
          ':now': now,
          ':lease': now + leaseMs,
          ':generation': generation,
        },
        ReturnValues: 'ALL_OLD',
      });
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      rethrowSdkError(error, 'DynamoDB');
    }
    const before = fromItem(old!);
    // the outcome's save then knows whether the failure's stack is stored already
    if (this.claimedStacks.size >= MAX_CLAIMED_STACKS) this.claimedStacks.clear();
    if (old![STACK_OF] !== undefined) this.claimedStacks.set(jobId, old![STACK_OF] as string);
    const claimed = claim(before, generation, now, leaseMs);
    if (isClaimRefusal(claimed)) throw new Error(`Job ${jobId} was claimed against the rules: ${claimed.reason}`);
    return claimed.next;
  }

  async remove(jobId: string, expect: Expectation): Promise<void> {
    try {
      await this.db.delete({ TableName: this.tableName, Key: jobKey(jobId), ...conditionFor(expect) });
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        throw new StateConflictError(jobId, `Job ${jobId} changed since it was read`, { cause: error });
      }
      rethrowSdkError(error, 'DynamoDB');
    }
    this.claimedStacks.delete(jobId);
    try {
      // after the job: a stack left by a delete that failed here is named by no job item, and a new job of this id writes its own
      await this.db.delete({ TableName: this.tableName, Key: stackKey(jobId) });
    } catch (error) {
      rethrowSdkError(error, 'DynamoDB');
    }
  }

  async listByState(state: JobState, limit: number, cursor?: string, changedBefore?: number): Promise<Page<Job>> {
    return this.listPage(stateListing(state), limit, cursor, { until: changedBefore && changedBefore - 1 });
  }

  async listFailed(filter: FailedJobFilter, limit: number, cursor?: string): Promise<Page<Job>> {
    return this.listPage(failedListing(filter), limit, cursor, filter);
  }

  async listFailedSummaries(filter: FailedJobFilter, limit: number, cursor?: string): Promise<Page<FailedJobSummary>> {
    // only the listing's fields are read: a job's history and stack trace stay in the table
    return this.listPage(failedListing(filter), limit, cursor, filter, SUMMARY);
  }

  async listSummaries(state: JobState, { name }: { readonly name?: string }, limit: number, cursor?: string): Promise<Page<JobSummary>> {
    // failed jobs of one name have partitions of their own; other names are told apart by the items read
    if (state === 'failed' && name !== undefined) return this.listPage(failedListing({ name }), limit, cursor, {}, JOB_SUMMARY);
    return this.listPage(stateListing(state), limit, cursor, { name }, JOB_SUMMARY);
  }

  async countFailed(filter: FailedJobFilter, upTo = Number.POSITIVE_INFINITY): Promise<number> {
    if (filter.name === undefined && filter.since === undefined && filter.until === undefined && filter.error === undefined) {
      // every failed job: the counters know, at no cost
      const failed = (await this.countByState()).failed;
      return Math.min(failed, upTo);
    }
    return Math.min(upTo, await this.countEntries(failedListing(filter), filter, upTo));
  }

  /** Index entries of a listing, every shard counted in parallel, each up to `upTo`. */
  private async countEntries(listing: Listing, range: IndexRange, upTo = Number.POSITIVE_INFINITY): Promise<number> {
    const [low, high] = sortKeyRange(range);
    if (low > high) return 0;
    const query = shardQuery(this.tableName, listing, range);
    try {
      const counts = await Promise.all(
        Array.from({ length: this.shards }, async (_, shard) => {
          let count = 0;
          const pages = queryPages(
            this.db,
            {
              ...query,
              ProjectionExpression: undefined,
              ExpressionAttributeValues: { ...query.ExpressionAttributeValues, ':pk': `${listing.prefix}#${shard}` },
              Select: 'COUNT',
            },
            () => (Number.isFinite(upTo) ? upTo - count : undefined),
          );
          for await (const page of pages) {
            count += page.Count;
            if (count >= upTo) break;
          }
          return count;
        }),
      );
      return counts.reduce((sum, n) => sum + n, 0);
    } catch (error) {
      return rethrowSdkError(error, 'DynamoDB');
    }
  }

  /**
   * One page of a listing, newest first: its shards merged, the page's jobs
   * then read by key (BatchGetItem, consistent) with only the attributes the
   * page shows. An entry whose job is gone or no longer in the listed state
   * (the index lags its items a little) is passed over, and so is a pending
   * job of another pending state, or one that entered it after `until`.
   */
  private async listPage<T = Job>(
    listing: Listing,
    limit: number,
    cursor: string | undefined,
    range: IndexRange,
    projection: Projection<T> = WHOLE_JOB as unknown as Projection<T>,
  ): Promise<Page<T>> {
    const after = cursor === undefined ? undefined : decodeCursor(cursor, listing, range);
    const [low, high] = sortKeyRange(range);
    if (low > high) return { items: [] };
    const merged = new MergedShards(this.db, shardQuery(this.tableName, listing, range, after), listing, this.shards, after);
    const attributes = projection.attributes && [
      ...new Set([...projection.attributes, 'id', 'state', 'failedAt', ...(range.name !== undefined ? ['name'] : [])]),
    ];
    const exact = listing.state !== 'failed' && listing.state !== 'completed' && range.until !== undefined;
    const maxBytes = projection.maxPageBytes ?? Number.POSITIVE_INFINITY;
    const items: T[] = [];
    let bytes = 2; // the array's brackets
    let last: Entry | undefined;
    let cut = false;
    try {
      while (!cut && items.length < limit) {
        const entries = await merged.take(limit - items.length);
        if (entries.length === 0) break;
        const found = await this.db.batchGet({
          TableName: this.tableName,
          Keys: entries.map((entry) => jobKey(entry.id)),
          ConsistentRead: true,
          ...(attributes
            ? {
                ProjectionExpression: attributes.map((_, i) => `#p${i}`).join(', '),
                ExpressionAttributeNames: Object.fromEntries(attributes.map((a, i) => [`#p${i}`, a])),
              }
            : {}),
        });
        const byId = new Map(found.map((item) => [item.id as string, item]));
        for (const entry of entries) {
          const item = byId.get(entry.id);
          const keep =
            item !== undefined &&
            item.state === listing.state &&
            (range.name === undefined || item.name === range.name) &&
            (!exact || stateChangedAt(fromItem(item)) <= (range.until as number));
          if (!keep) {
            last = entry;
            continue;
          }
          const mapped = projection.map(item);
          if (Number.isFinite(maxBytes)) {
            bytes += bytesInResponse(mapped);
            // one item always fits (data is far under the cut), so every page moves on
            cut = items.length > 0 && bytes > maxBytes;
            if (cut) break;
          }
          items.push(mapped);
          last = entry;
        }
      }
    } catch (error) {
      return rethrowSdkError(error, 'DynamoDB');
    }
    // cut short, the page continues after the last job it took, not after the last entry read
    const more = cut || merged.mayHaveMore;
    return { items, cursor: more && last ? encodeCursor(queryDigest(listing, range), last) : undefined };
  }

  /**
   * One page of a recount of `state`: its shards in turn, up to COUNT_PAGE
   * index entries a page. Completed and failed partitions hold one state
   * each and are counted by DynamoDB (Select COUNT); the pending partitions
   * hold three, told apart by the items' state, read by key. The cursor
   * names the shard and where its Query goes on.
   */
  async countStatePage(state: JobState, cursor?: string): Promise<{ count: number; cursor?: string }> {
    // cursors of this kind stay in the recount's own item: only the store reads them back
    const at = cursor === undefined ? { shard: 0 } : (JSON.parse(cursor) as { shard: number; key?: Document });
    const listing = stateListing(state);
    const query = shardQuery(this.tableName, listing, {});
    const pending = groupOf(state) !== state;
    try {
      const page = await this.db.query({
        ...query,
        ...(pending ? {} : { Select: 'COUNT', ProjectionExpression: undefined }),
        ExpressionAttributeValues: { ...query.ExpressionAttributeValues, ':pk': `${listing.prefix}#${at.shard}` },
        Limit: pending ? PENDING_COUNT_PAGE : COUNT_PAGE,
        ExclusiveStartKey: at.key,
      });
      let count = page.Count;
      if (pending) {
        const items = await this.db.batchGet({
          TableName: this.tableName,
          Keys: page.Items.map((entry) => jobKey(entryOf(entry[stateIndex.sortKey] as string).id)),
          ProjectionExpression: '#state',
          ExpressionAttributeNames: { '#state': 'state' },
        });
        count = items.filter((item) => item.state === state).length;
      }
      const next = page.LastEvaluatedKey
        ? { shard: at.shard, key: page.LastEvaluatedKey }
        : at.shard + 1 < this.shards
          ? { shard: at.shard + 1 }
          : undefined;
      return { count, cursor: next && JSON.stringify(next) };
    } catch (error) {
      return rethrowSdkError(error, 'DynamoDB');
    }
  }

  async adjustCount(state: JobState, delta: number, token: string): Promise<void> {
    await this.counters.adjust(state, delta, token);
  }

  async countByState(): Promise<Record<JobState, number>> {
    return this.counters.read();
  }

  async recount(): Promise<Record<JobState, number> | undefined> {
    const before = await this.counters.read();
    const [pending, completed, failed] = await Promise.all([
      this.countPending(),
      this.countEntries(stateListing('completed'), {}),
      this.countEntries(stateListing('failed'), {}),
    ]);
    const actual: Record<JobState, number> = { ...pending, completed, failed };
    // a job that moved while the states were counted may be counted in the wrong
    // state: correct only from a count no change overlapped, else leave it to the next try
    const corrected = await this.counters.correct(actual, before);
    return corrected ? actual : undefined;
  }

  /** The pending jobs by state: their index entries do not tell the three apart, their items do. */
  private async countPending(): Promise<Record<'waiting' | 'active' | 'delayed', number>> {
    const counts = { waiting: 0, active: 0, delayed: 0 };
    const listing = stateListing('waiting');
    const merged = new MergedShards(this.db, shardQuery(this.tableName, listing, {}), listing, this.shards, undefined);
    try {
      for (;;) {
        const entries = await merged.take(1000);
        if (entries.length === 0) break;
        const items = await this.db.batchGet({
          TableName: this.tableName,
          Keys: entries.map((entry) => jobKey(entry.id)),
          ProjectionExpression: '#state',
          ExpressionAttributeNames: { '#state': 'state' },
        });
        for (const item of items) if ((item.state as string) in counts) counts[item.state as keyof typeof counts]++;
      }
    } catch (error) {
      return rethrowSdkError(error, 'DynamoDB');
    }
    return counts;
  }

  async throughput(minutes: number, now: number): Promise<MinuteThroughput[]> {
    return this.counters.throughput(minutes, now);
  }

  async countChanges(changes: CounterChanges): Promise<void> {
    await this.counters.apply(changes);
  }

  async staleCopies(): Promise<{ made: number; swept: number }> {
    return this.counters.staleCopies();
  }

  async markSwept(made: number): Promise<void> {
    await this.counters.markSwept(made);
  }
}
