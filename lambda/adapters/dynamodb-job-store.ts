import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DuplicateJobError, JobWriteRefusedError, StateConflictError, ValidationError } from '../core/errors';
import type { FailedJobFilter } from '../core/failed-job-filter';
import { BUDGETS } from '../core/limits';
import { JOB_STATES, stateChangedAt, type FailedJobSummary, type Job, type JobState, type JobSummary } from '../core/job';
import type { JobStore, MinuteThroughput, Page } from '../core/ports';
import { claim, isClaimRefusal, type Expectation } from '../core/transitions';
import { DynamoDbDocuments, type Document } from './dynamodb-documents';
import { DynamoDbJobCounters } from './dynamodb-job-counters';
import { isUnavailable, rethrowSdkError } from './dependency-errors';
import { JOB_TABLE } from './table-schema';

const { partitionKey: PK, sortKey: SK, stateIndex, failedByNameIndex, timeToLiveAttribute } = JOB_TABLE;

/** Buffered counter changes are written at the latest after this many. */
const FLUSH_EVERY = 50;

type IndexKeys = { readonly name: string; readonly partitionKey: string; readonly sortKey: string };

export const jobKey = (jobId: string) => ({ [PK]: `JOB#${jobId}`, [SK]: 'JOB' });
const stateKey = (state: JobState) => `STATE#${state}`;
const failedNameKey = (name: string) => `FAILED#${name}`;

/**
 * A failed job's index sort keys (byState `STATE#failed` and failedByName)
 * are its failure time negated, so that newest first is each partition's
 * forward order and every failed listing is a forward Query. On DynamoDB the
 * direction costs the same; on dynalite's LevelDB a reverse Query first seeks
 * to the key after the partition's end and skips every deleted entry it
 * finds there (the index entries of jobs retried or run since), which at
 * 20,000 retried jobs made one page of 50 ten times slower. Other states keep
 * the time itself, read newest first with ScanIndexForward false.
 */
const failedSortKey = (failedAt: number) => -failedAt;
const isDescending = (index: IndexKeys, partition: string) =>
  index.name === failedByNameIndex.name || (index.name === stateIndex.name && partition === stateKey('failed'));

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

// data and returnValue are kept as JSON text: any JSON value round-trips
// exactly, whatever DynamoDB thinks of empty map keys or deep nesting.
// Built by assignment after one spread: an object literal that spreads an
// object with computed keys and then the job took V8's slow path, about 50
// times longer (a tenth of the task runner's main-thread time per retry).
/** Failed jobs expire after this, unless the store is told otherwise. */
export const DEFAULT_FAILED_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;

export const toItem = (job: Job, retentionMs: number, failedRetentionMs = DEFAULT_FAILED_RETENTION_MS): Record<string, unknown> => {
  const failed = job.state === 'failed';
  const changedAt = stateChangedAt(job);
  const item: Record<string, unknown> = Object.assign({ ...job }, jobKey(job.id));
  item.data = JSON.stringify(job.data);
  item.returnValue = job.returnValue === undefined ? undefined : JSON.stringify(job.returnValue);
  item[stateIndex.partitionKey] = stateKey(job.state);
  item[stateIndex.sortKey] = failed ? failedSortKey(changedAt) : changedAt;
  item[failedByNameIndex.partitionKey] = failed ? failedNameKey(job.name) : undefined;
  item[failedByNameIndex.sortKey] = failed ? failedSortKey(changedAt) : undefined;
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

/** `name`: a FilterExpression, for the states whose index partition holds every name. */
type IndexRange = { readonly since?: number; readonly until?: number; readonly error?: string; readonly name?: string };

/** Where a page ended: the last job it took, as that job's id and its sort key in the index read. */
interface CursorKey {
  readonly id: string;
  readonly at: number;
}

const CURSOR_VERSION = 1;
const BAD_CURSOR = 'cursor is not valid: pass the X-Next-Cursor value of the previous page unchanged, with the same filters';

/**
 * What a cursor is bound to: the index, its partition (the listing and the
 * name filter) and the other filters. A cursor carries this digest, so one
 * reused with other filters is refused rather than read as a position in a
 * query it was never part of. No secret is needed: a forger who computes the
 * digest can only name a well-formed position of this very query, which
 * {@link decodeCursor} checks in full.
 */
const queryDigest = (index: IndexKeys, partition: string, { since, until, error, name }: IndexRange): string =>
  createHash('sha256')
    .update(JSON.stringify([index.name, partition, since ?? null, until ?? null, error ?? null, ...(name !== undefined ? [name] : [])]))
    .digest('base64url')
    .slice(0, 16);

const encodeCursor = (digest: string, key: CursorKey): string =>
  Buffer.from(JSON.stringify({ v: CURSOR_VERSION, q: digest, id: key.id, at: key.at })).toString('base64url');

/** The range of sort keys the query reads: a cursor's position must lie in it. */
const sortKeyRange = (index: IndexKeys, partition: string, { since, until }: IndexRange): [number, number] =>
  isDescending(index, partition)
    ? [until === undefined ? -Number.MAX_SAFE_INTEGER : failedSortKey(until), since === undefined ? 0 : failedSortKey(since)]
    : [since ?? 0, until ?? Number.MAX_SAFE_INTEGER];

const CURSOR_TEXT = /^[A-Za-z0-9_-]{1,1024}$/;
/** Any id a job may have been stored with: dots alone were allowed before JOB_ID_PATTERN refused them. */
const STORED_JOB_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * A cursor, checked in full, as the ExclusiveStartKey of this query: its
 * version, its query digest, a job id as stored and a whole-number
 * sort key within the query's range, in the one spelling encodeCursor gives.
 * The index partition and the table keys are rebuilt from these, never taken
 * from the caller.
 */
const decodeCursor = (cursor: string, index: IndexKeys, partition: string, range: IndexRange): Record<string, unknown> => {
  if (!CURSOR_TEXT.test(cursor)) throw new ValidationError(BAD_CURSOR);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new ValidationError(BAD_CURSOR);
  }
  const k = parsed as Record<string, unknown>;
  const digest = queryDigest(index, partition, range);
  const [low, high] = sortKeyRange(index, partition, range);
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
  return { ...jobKey(k.id as string), [index.partitionKey]: partition, [index.sortKey]: k.at };
};

/**
 * The query of one index partition, its time within [since, until], its error
 * containing `error`, read newest first.
 */
const indexQuery = (
  tableName: string,
  index: IndexKeys,
  partition: string,
  { since, until, error, name }: IndexRange,
) => {
  const names: Record<string, string> = { '#pk': index.partitionKey };
  const values: Record<string, unknown> = { ':pk': partition };
  const descending = isDescending(index, partition);
  let keyCondition = '#pk = :pk';
  if (since !== undefined || until !== undefined) {
    names['#sk'] = index.sortKey;
    [values[':low'], values[':high']] = sortKeyRange(index, partition, { since, until });
    keyCondition += ' AND #sk BETWEEN :low AND :high';
  }
  if (error !== undefined) {
    names['#error'] = 'error';
    names['#errorLower'] = ERROR_LOWER;
    values[':error'] = error;
    values[':errorLower'] = error.toLowerCase();
  }
  if (name !== undefined) {
    names['#name'] = 'name';
    values[':name'] = name;
  }
  // failed jobs written before the lower-cased copy existed are matched as they are (AND binds before OR)
  const errorFilter = 'contains(#errorLower, :errorLower) OR attribute_not_exists(#errorLower) AND contains(#error, :error)';
  const filters = [...(name !== undefined ? ['#name = :name'] : []), ...(error !== undefined ? [name !== undefined ? `(${errorFilter})` : errorFilter] : [])];
  return {
    TableName: tableName,
    IndexName: index.name,
    KeyConditionExpression: keyCondition,
    ...(filters.length > 0 ? { FilterExpression: filters.join(' AND ') } : {}),
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
    ScanIndexForward: descending,
  };
};

/** Which attributes a query returns (all when absent), and what it makes of each item. */
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

/** Summaries of any state: the time it entered it is the byState sort key (negated for failed jobs). */
const JOB_SUMMARY: Projection<JobSummary> = {
  attributes: ['id', 'name', 'state', 'attempts', 'maxAttempts', 'createdAt', 'runAt', 'failedAt', 'error', stateIndex.sortKey],
  map: (item) => ({
    id: item.id as string,
    name: item.name as string,
    state: item.state as JobState,
    attempts: item.attempts as number,
    maxAttempts: item.maxAttempts as number,
    createdAt: item.createdAt as number,
    updatedAt: Math.abs(item[stateIndex.sortKey] as number),
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
  /** Failed jobs expire (TTL) this long after they fail. @default 30 days */
  readonly failedRetentionMs?: number;
  /** @default a client configured from the environment */
  readonly client?: DynamoDBClient;
}

export class DynamoDbJobStore implements JobStore {
  private readonly db: DynamoDbDocuments;
  private readonly tableName: string;
  private readonly retentionMs: number;
  private readonly failedRetentionMs: number;
  private readonly counters: DynamoDbJobCounters;

  constructor(props: DynamoDbJobStoreProps) {
    this.db = new DynamoDbDocuments(props.client);
    this.tableName = props.tableName;
    this.retentionMs = props.retentionMs;
    this.failedRetentionMs = props.failedRetentionMs ?? DEFAULT_FAILED_RETENTION_MS;
    this.counters = new DynamoDbJobCounters(this.db, this.tableName);
  }

  async create(job: Job): Promise<void> {
    try {
      await this.db.put({
        TableName: this.tableName,
        Item: toItem(job, this.retentionMs, this.failedRetentionMs),
        // ids are the callers' to choose (opts.jobId): never overwrite one
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': PK },
      });
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new DuplicateJobError(job.id);
      rethrowSdkError(error, 'DynamoDB');
    }
    await this.changed(undefined, job.state, job.createdAt);
  }

  async get(jobId: string): Promise<Job | undefined> {
    try {
      const item = await this.db.get({ TableName: this.tableName, Key: jobKey(jobId), ConsistentRead: true });
      return item ? fromItem(item) : undefined;
    } catch (error) {
      return rethrowSdkError(error, 'DynamoDB');
    }
  }

  async save(next: Job, expect: Expectation, previous?: Job): Promise<void> {
    try {
      // One conditional write per transition: of two writers that read the same
      // job (two workers, two retries), only the first still finds it as read.
      // Knowing the job as read, only what changed is sent: the history,
      // data and error of a job stay where they are.
      const item = toItem(next, this.retentionMs, this.failedRetentionMs);
      const condition = conditionFor(expect);
      if (previous === undefined) {
        await this.db.put({ TableName: this.tableName, Item: item, ...condition });
      } else {
        const changes = changesBetween(toItem(previous, this.retentionMs, this.failedRetentionMs), item, condition);
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
    // every transition expects exactly one state: the one the job leaves
    await this.changed(expect.states[0], next.state, next.finishedAt ?? Date.now());
  }

  async claim(jobId: string, generation: number, now: number, leaseMs: number): Promise<Job | undefined> {
    let old: Record<string, unknown> | undefined;
    try {
      // the same rule as transitions.ts `claim`, as one update: no read first
      old = await this.db.update({
        TableName: this.tableName,
        Key: jobKey(jobId),
        UpdateExpression:
          'SET #state = :active, #attempts = #attempts + :one, #processedAt = :now, #leaseUntil = :lease, #spk = :spk, #ssk = :now REMOVE #runAt',
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
          '#spk': stateIndex.partitionKey,
          '#ssk': stateIndex.sortKey,
        },
        ExpressionAttributeValues: {
          ':active': 'active',
          ':waiting': 'waiting',
          ':delayed': 'delayed',
          ':one': 1,
          ':now': now,
          ':lease': now + leaseMs,
          ':generation': generation,
          ':spk': stateKey('active'),
        },
        ReturnValues: 'ALL_OLD',
      });
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      rethrowSdkError(error, 'DynamoDB');
    }
    const before = fromItem(old!);
    const claimed = claim(before, generation, now, leaseMs);
    if (isClaimRefusal(claimed)) throw new Error(`Job ${jobId} was claimed against the rules: ${claimed.reason}`);
    await this.changed(before.state, 'active', now);
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
    await this.changed(expect.states[0], undefined, Date.now());
  }

  async listByState(state: JobState, limit: number, cursor?: string, changedBefore?: number): Promise<Page<Job>> {
    return this.queryIndex(stateIndex, stateKey(state), limit, cursor, { until: changedBefore && changedBefore - 1 });
  }

  async listFailed(filter: FailedJobFilter, limit: number, cursor?: string): Promise<Page<Job>> {
    const [index, partition] =
      filter.name === undefined ? [stateIndex, stateKey('failed')] : [failedByNameIndex, failedNameKey(filter.name)];
    return this.queryIndex(index, partition, limit, cursor, failedRange(filter));
  }

  async listFailedSummaries(filter: FailedJobFilter, limit: number, cursor?: string): Promise<Page<FailedJobSummary>> {
    const [index, partition] =
      filter.name === undefined ? [stateIndex, stateKey('failed')] : [failedByNameIndex, failedNameKey(filter.name)];
    // only the listing's fields come back: a job's history and stack trace stay in the table
    return this.queryIndex(index, partition, limit, cursor, failedRange(filter), SUMMARY);
  }

  async listSummaries(state: JobState, { name }: { readonly name?: string }, limit: number, cursor?: string): Promise<Page<JobSummary>> {
    // failed jobs of one name have an index of their own; other states are read by state, the name filtered in the query
    if (state === 'failed' && name !== undefined) {
      return this.queryIndex(failedByNameIndex, failedNameKey(name), limit, cursor, {}, JOB_SUMMARY);
    }
    return this.queryIndex(stateIndex, stateKey(state), limit, cursor, { name }, JOB_SUMMARY);
  }

  async countFailed(filter: FailedJobFilter, upTo = Number.POSITIVE_INFINITY): Promise<number> {
    if (filter.name === undefined && filter.since === undefined && filter.until === undefined && filter.error === undefined) {
      // every failed job: the counters know, at no cost
      const failed = (await this.countByState()).failed;
      return Math.min(failed, upTo);
    }
    const [index, partition] =
      filter.name === undefined ? [stateIndex, stateKey('failed')] : [failedByNameIndex, failedNameKey(filter.name)];
    let count = 0;
    let startKey: Record<string, unknown> | undefined;
    try {
      do {
        const page = await this.db.query({
          ...indexQuery(this.tableName, index, partition, failedRange(filter)),
          Select: 'COUNT',
          ...(Number.isFinite(upTo) ? { Limit: upTo - count } : {}),
          ExclusiveStartKey: startKey,
        });
        count += page.Count;
        startKey = page.LastEvaluatedKey;
      } while (startKey && count < upTo);
    } catch (error) {
      rethrowSdkError(error, 'DynamoDB');
    }
    return count;
  }

  /**
   * One partition of an index, newest first, its sort key within
   * [since, until]. With an `error` filter DynamoDB counts the items it reads,
   * not those it keeps, against Limit: read on until the page is full.
   */
  private async queryIndex<T = Job>(
    index: IndexKeys,
    partition: string,
    limit: number,
    cursor: string | undefined,
    range: IndexRange,
    projection: Projection<T> = WHOLE_JOB as unknown as Projection<T>,
  ): Promise<Page<T>> {
    let startKey = cursor === undefined ? undefined : decodeCursor(cursor, index, partition, range);
    const items: T[] = [];
    const query = indexQuery(this.tableName, index, partition, range);
    // the index's sort key comes back too: a page cut by bytes ends at its last item's key
    const attributes = projection.attributes && [...new Set([...projection.attributes, 'id', index.sortKey])];
    attributes?.forEach((attribute, i) => (query.ExpressionAttributeNames[`#p${i}`] = attribute));
    const maxBytes = projection.maxPageBytes ?? Number.POSITIVE_INFINITY;
    let bytes = 2; // the array's brackets
    let lastTaken: Record<string, unknown> | undefined;
    let cut = false;
    try {
      do {
        const page = await this.db.query({
          ...query,
          ...(attributes ? { ProjectionExpression: attributes.map((_, i) => `#p${i}`).join(', ') } : {}),
          Limit: limit - items.length,
          ExclusiveStartKey: startKey,
        });
        startKey = page.LastEvaluatedKey;
        for (const item of page.Items) {
          const mapped = projection.map(item);
          if (Number.isFinite(maxBytes)) {
            bytes += bytesInResponse(mapped);
            // one item always fits (data is far under the cut), so every page moves on
            cut = items.length > 0 && bytes > maxBytes;
            if (cut) break;
          }
          items.push(mapped);
          lastTaken = item;
        }
      } while (!cut && startKey && items.length < limit);
    } catch (error) {
      return rethrowSdkError(error, 'DynamoDB');
    }
    // cut short, the page continues after the last job it took, not after the last DynamoDB read
    const next = cut
      ? { id: lastTaken!.id as string, at: lastTaken![index.sortKey] as number }
      : startKey && { id: String(startKey[PK]).slice('JOB#'.length), at: startKey[index.sortKey] as number };
    return { items, cursor: next && encodeCursor(queryDigest(index, partition, range), next) };
  }

  async countByState(): Promise<Record<JobState, number>> {
    return this.counters.read();
  }

  async recount({ whenQuiet = true }: { whenQuiet?: boolean } = {}): Promise<Record<JobState, number> | undefined> {
    await this.flush();
    const before = whenQuiet ? await this.counters.read() : undefined;
    const counts = await Promise.all(JOB_STATES.map((state) => this.count(state)));
    const actual = Object.fromEntries(JOB_STATES.map((state, i) => [state, counts[i]])) as Record<JobState, number>;
    // a job that moved while the states were counted may be counted in the wrong
    // state: correct only from a count no change overlapped, else leave it to the next try
    const corrected = await this.counters.correct(actual, before ?? (await this.counters.read()));
    return corrected ? actual : undefined;
  }

  async throughput(minutes: number, now: number): Promise<MinuteThroughput[]> {
    return this.counters.throughput(minutes, now);
  }

  async flush(): Promise<void> {
    await this.counters.flush();
  }

  /**
   * Failed jobs written before their index sort keys were negated (see
   * `failedSortKey`) still carry the failure time itself: one Query finds
   * them (nothing, once done) and each gets the current keys, on condition
   * that it is still failed with the old key.
   */
  async upgradeIndexKeys(): Promise<number> {
    let upgraded = 0;
    let startKey: Record<string, unknown> | undefined;
    try {
      do {
        const page = await this.db.query({
          TableName: this.tableName,
          IndexName: stateIndex.name,
          KeyConditionExpression: '#pk = :pk AND #sk > :zero',
          ProjectionExpression: '#id, #sk',
          ExpressionAttributeNames: { '#pk': stateIndex.partitionKey, '#sk': stateIndex.sortKey, '#id': 'id' },
          ExpressionAttributeValues: { ':pk': stateKey('failed'), ':zero': 0 },
          Limit: 100,
          ExclusiveStartKey: startKey,
        });
        const changed = await Promise.all(
          page.Items.map(async (item) => {
            const old = item[stateIndex.sortKey] as number;
            try {
              await this.db.update({
                TableName: this.tableName,
                Key: jobKey(item.id as string),
                UpdateExpression: 'SET #ssk = :key, #nsk = :key',
                ConditionExpression: '#state = :failed AND #ssk = :old',
                ExpressionAttributeNames: { '#ssk': stateIndex.sortKey, '#nsk': failedByNameIndex.sortKey, '#state': 'state' },
                ExpressionAttributeValues: { ':key': failedSortKey(old), ':failed': 'failed', ':old': old },
              });
              return 1;
            } catch (error) {
              // retried or upgraded meanwhile: nothing left to do for it
              if (error instanceof ConditionalCheckFailedException) return 0;
              throw error;
            }
          }),
        );
        upgraded += changed.reduce<number>((sum, n) => sum + n, 0);
        startKey = page.LastEvaluatedKey;
      } while (startKey);
    } catch (error) {
      rethrowSdkError(error, 'DynamoDB');
    }
    return upgraded;
  }

  /** Note a change of state; write the buffered changes once enough have gathered. */
  private async changed(from: JobState | undefined, to: JobState | undefined, at: number): Promise<void> {
    this.counters.record(from, to, at);
    if (this.counters.unflushed >= FLUSH_EVERY) await this.counters.flush();
  }

  private async count(state: JobState): Promise<number> {
    let total = 0;
    let startKey: Record<string, unknown> | undefined;
    try {
      do {
        const page = await this.db.query({
          ...indexQuery(this.tableName, stateIndex, stateKey(state), {}),
          Select: 'COUNT',
          ExclusiveStartKey: startKey,
        });
        total += page.Count;
        startKey = page.LastEvaluatedKey;
      } while (startKey);
    } catch (error) {
      rethrowSdkError(error, 'DynamoDB');
    }
    return total;
  }
}
