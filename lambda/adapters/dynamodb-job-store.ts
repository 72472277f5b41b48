import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DuplicateJobError, JobWriteRefusedError, StateConflictError } from '../core/errors';
import type { FailedJobFilter } from '../core/failed-job-filter';
import type { FailedJobSummary, Job, JobState, JobSummary } from '../core/job';
import type { CounterChanges, JobStore, MinuteThroughput, Page } from '../core/ports';
import { claim, isClaimRefusal, type Expectation } from '../core/transitions';
import { isUnavailable, rethrowSdkError } from './dependency-errors';
import { DynamoDbDocuments } from './dynamodb-documents';
import { DynamoDbJobCounters } from './dynamodb-job-counters';
import { changesBetween, claimUpdate, conditionFor, jobIsNew } from './dynamodb-job-conditions';
import { failedListing, stateListing } from './dynamodb-job-index';
import {
  DEFAULT_FAILED_RETENTION_MS,
  fromItem,
  isNewFailure,
  jobKey,
  stackDigest,
  stackKey,
  stackUpdate,
  STACK_OF,
  toItem,
  toStackItem,
} from './dynamodb-job-item';
import { DynamoDbJobListings } from './dynamodb-job-listings';
import { JOB_SUMMARY, SUMMARY } from './dynamodb-job-projections';
import { JOB_TABLE } from './table-schema';

const { partitionKey: PK, sortKey: SK } = JOB_TABLE;

/** Claimed jobs whose stored stack a store remembers until their outcome, at most (a worker runs a batch at a time). */
const MAX_CLAIMED_STACKS = 10_000;

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
  private readonly listings: DynamoDbJobListings;
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
    this.listings = new DynamoDbJobListings(this.db, this.tableName, this.shards);
  }

  async create(job: Job): Promise<void> {
    try {
      await this.db.put({
        TableName: this.tableName,
        Item: toItem(job, this.retentionMs, this.shards, this.failedRetentionMs),
        ...jobIsNew,
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
    try {
      await this.db.update(stackUpdate(this.tableName, toStackItem(job, stacktrace, this.retentionMs, Date.now(), this.failedRetentionMs)));
    } catch (error) {
      rethrowSdkError(error, 'DynamoDB');
    }
  }

  async claim(jobId: string, generation: number, now: number, leaseMs: number): Promise<Job | undefined> {
    let old: Record<string, unknown> | undefined;
    try {
      old = await this.db.update(claimUpdate(this.tableName, jobId, generation, now, leaseMs));
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
    return this.listings.page(stateListing(state), limit, cursor, { until: changedBefore && changedBefore - 1 });
  }

  async listFailed(filter: FailedJobFilter, limit: number, cursor?: string): Promise<Page<Job>> {
    return this.listings.page(failedListing(filter), limit, cursor, filter);
  }

  async listFailedSummaries(filter: FailedJobFilter, limit: number, cursor?: string): Promise<Page<FailedJobSummary>> {
    // only the listing's fields are read: a job's history and stack trace stay in the table
    return this.listings.page(failedListing(filter), limit, cursor, filter, SUMMARY);
  }

  async listSummaries(state: JobState, { name }: { readonly name?: string }, limit: number, cursor?: string): Promise<Page<JobSummary>> {
    // failed jobs of one name have partitions of their own; other names are told apart by the items read
    if (state === 'failed' && name !== undefined) return this.listings.page(failedListing({ name }), limit, cursor, {}, JOB_SUMMARY);
    return this.listings.page(stateListing(state), limit, cursor, { name }, JOB_SUMMARY);
  }

  async countFailed(filter: FailedJobFilter, upTo = Number.POSITIVE_INFINITY): Promise<number> {
    if (filter.name === undefined && filter.since === undefined && filter.until === undefined && filter.error === undefined) {
      // every failed job: the counters know, at no cost
      const failed = (await this.countByState()).failed;
      return Math.min(failed, upTo);
    }
    return Math.min(upTo, await this.listings.countEntries(failedListing(filter), filter, upTo));
  }

  async countStatePage(state: JobState, cursor?: string): Promise<{ count: number; cursor?: string }> {
    return this.listings.countStatePage(state, cursor);
  }

  async recount(): Promise<Record<JobState, number> | undefined> {
    const before = await this.counters.read();
    const actual = await this.listings.countAll();
    // a job that moved while the states were counted may be counted in the wrong
    // state: correct only from a count no change overlapped, else leave it to the next try
    const corrected = await this.counters.correct(actual, before);
    return corrected ? actual : undefined;
  }

  async adjustCount(state: JobState, delta: number, token: string): Promise<void> {
    await this.counters.adjust(state, delta, token);
  }

  async countByState(): Promise<Record<JobState, number>> {
    return this.counters.read();
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

