import { randomInt } from 'node:crypto';
import { JOB_STATES, type JobState } from '../core/job';
import type { CounterChanges, MinuteThroughput } from '../core/ports';
import { rethrowSdkError } from './dependency-errors';
import type { DynamoDbDocuments } from './dynamodb-documents';
import { JOB_TABLE } from './table-schema';

const { partitionKey: PK, sortKey: SK, timeToLiveAttribute } = JOB_TABLE;

/**
 * Counter shards, each its own partition key. A DynamoDB partition takes
 * about 1,000 write units a second; the counters are written once per batch
 * of the table's stream (up to 1,000 changes, see JOB_CHANGES_COUNTER in
 * lambda/routes.ts), one update of the states and one per minute of
 * outcomes, each batch on the shard its first sequence number picks. At
 * 10,000 jobs a second that is some tens of writes a second over 16 shards,
 * far from any partition's limit. Reading costs one BatchGet and one Query
 * per shard, whatever the number of jobs.
 */
export const COUNTER_SHARDS = 16;

const MINUTE = 60_000;
const THROUGHPUT_RETENTION_S = 24 * 60 * 60;

export const countsKey = (shard: number) => ({ [PK]: `COUNTS#${shard}`, [SK]: 'STATES' });
/** Written by the reconciler alone, once a minute at most. */
const SWEPT_KEY = { [PK]: 'DEAD_LETTERS', [SK]: 'SWEPT' };
/**
 * Beside the states, each shard counts the jobs that left `failed` (retried,
 * or removed): each such change leaves the job's dead-letter copy stale.
 */
const LEFT_FAILED = 'leftFailed';
/** On each counter item the stream writes: the batch last applied to it. */
const LAST_BATCH = 'lastBatch';
export const throughputKey = (shard: number, minute: number) => ({ [PK]: `THROUGHPUT#${shard}`, [SK]: `MINUTE#${minute}` });

export interface JobCountersOptions {
  /** @default COUNTER_SHARDS */
  readonly shards?: number;
}

/** What a batch of changes adds up to, ready for `apply`. */
export class ChangeTally implements CounterChanges {
  readonly states: Record<string, number> = {};
  readonly minutes = new Map<number, { completed: number; failed: number }>();

  constructor(
    /** Names the batch: the same batch applied again changes nothing (see `apply`). */
    readonly batch: string,
  ) {}

  /** Note a job leaving `from` (absent for a new job) for `to` (absent for a removed one) at `at`. */
  add(from: JobState | undefined, to: JobState | undefined, at: number): void {
    if (from === to) return;
    if (from) this.states[from] = (this.states[from] ?? 0) - 1;
    if (to) this.states[to] = (this.states[to] ?? 0) + 1;
    if (from === 'failed') this.states[LEFT_FAILED] = (this.states[LEFT_FAILED] ?? 0) + 1;
    // an execution's outcome, not a retry undone or a job re-sent
    if (from === 'active' && (to === 'completed' || to === 'failed')) {
      const minute = Math.floor(at / MINUTE);
      const bucket = this.minutes.get(minute) ?? { completed: 0, failed: 0 };
      bucket[to]++;
      this.minutes.set(minute, bucket);
    }
  }
}

/** Where a batch goes: a batch named by a sequence number picks it from the number, anything else at random. */
const shardOf = (batch: string, shards: number): number =>
  /^[0-9]+$/.test(batch) ? Number(BigInt(batch) % BigInt(shards)) : randomInt(shards);

/**
 * Counts per state kept beside the jobs, so metrics read a few small items
 * however many jobs there are. Each change of state adds -1 to the old
 * state's count and +1 to the new one's. The table's stream is their one
 * writer (count-job-changes): a batch of its records is applied in one
 * update per item, on one shard.
 *
 * Items, per shard `<n>` (0 to shards - 1):
 * - pk `COUNTS#<n>`, sk `STATES`: one number attribute per state, and `leftFailed`
 * - pk `THROUGHPUT#<n>`, sk `MINUTE#<epoch minute>`: completed, failed; expire after a day
 * - pk `DEAD_LETTERS`, sk `SWEPT`: `through`, the `leftFailed` total a sweep of the dead letters covered
 */
export class DynamoDbJobCounters {
  private readonly shards: number;

  constructor(
    private readonly db: DynamoDbDocuments,
    private readonly tableName: string,
    { shards = COUNTER_SHARDS }: JobCountersOptions = {},
  ) {
    this.shards = shards;
  }

  /**
   * Write a batch's changes: one update of the states, one per minute of
   * outcomes, all on the shard the batch's name picks. Each item keeps the
   * name of the last batch applied to it and refuses that name again, so a
   * batch the stream hands over again after a failure (Lambda retries it
   * with the same records) adds nothing to the items it reached before. Only
   * best effort: on AWS another batch may land on the same shard in between,
   * and the retry then counts twice; a recount on demand repairs that.
   */
  async apply(changes: CounterChanges): Promise<void> {
    const shard = shardOf(changes.batch, this.shards);
    const nonZero = Object.entries(changes.states).filter(([, n]) => n !== 0);
    try {
      await Promise.all([
        nonZero.length > 0 ? this.add(countsKey(shard), Object.fromEntries(nonZero), { batch: changes.batch }) : undefined,
        ...[...changes.minutes].map(([minute, counts]) =>
          this.add(throughputKey(shard, minute), counts, {
            batch: changes.batch,
            expiresAt: (minute * MINUTE) / 1000 + THROUGHPUT_RETENTION_S,
          }),
        ),
      ]);
    } catch (error) {
      rethrowSdkError(error, 'DynamoDB');
    }
  }

  private async add(
    key: Record<string, string>,
    deltas: Record<string, number>,
    { expiresAt, batch }: { expiresAt?: number; batch?: string } = {},
  ): Promise<void> {
    const names: Record<string, string> = {};
    const values: Record<string, number | string> = {};
    const adds = Object.entries(deltas).map(([attribute, delta], i) => {
      names[`#a${i}`] = attribute;
      values[`:d${i}`] = delta;
      return `#a${i} :d${i}`;
    });
    const sets: string[] = [];
    if (expiresAt !== undefined) {
      names['#ttl'] = timeToLiveAttribute;
      values[':ttl'] = Math.ceil(expiresAt);
      sets.push('#ttl = :ttl');
    }
    if (batch !== undefined) {
      names['#batch'] = LAST_BATCH;
      values[':batch'] = batch;
      sets.push('#batch = :batch');
    }
    try {
      await this.db.update({
        TableName: this.tableName,
        Key: key,
        UpdateExpression: `ADD ${adds.join(', ')}${sets.length > 0 ? ` SET ${sets.join(', ')}` : ''}`,
        ...(batch !== undefined ? { ConditionExpression: 'attribute_not_exists(#batch) OR #batch <> :batch' } : {}),
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      });
    } catch (error) {
      // this batch reached the item before
      if (batch !== undefined && (error as Error).name === 'ConditionalCheckFailedException') return;
      throw error;
    }
  }

  /** The counts per state: every shard's `STATES` item, in one BatchGet (a consistent read). */
  async read(): Promise<Record<JobState, number>> {
    const counts = Object.fromEntries(JOB_STATES.map((state) => [state, 0])) as Record<JobState, number>;
    const keys = Array.from({ length: this.shards }, (_, shard) => countsKey(shard));
    try {
      for (const shard of await this.db.batchGet({ TableName: this.tableName, Keys: keys, ConsistentRead: true })) {
        for (const state of JOB_STATES) counts[state] += Number(shard[state] ?? 0);
      }
    } catch (error) {
      rethrowSdkError(error, 'DynamoDB');
    }
    return counts;
  }

  /**
   * Add `delta` to one state's count, once per `token`: the shard keeps the
   * last token applied, and an update bearing it again is refused.
   */
  async adjust(state: JobState, delta: number, token: string): Promise<void> {
    try {
      await this.db.update({
        TableName: this.tableName,
        Key: countsKey(0),
        UpdateExpression: 'ADD #state :delta SET #token = :token',
        ConditionExpression: 'attribute_not_exists(#token) OR #token <> :token',
        ExpressionAttributeNames: { '#state': state, '#token': 'lastAdjustment' },
        ExpressionAttributeValues: { ':delta': delta, ':token': token },
      });
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return; // applied already
      rethrowSdkError(error, 'DynamoDB');
    }
  }

  /**
   * How many dead-letter copies went stale (jobs that left `failed`, as
   * counted from the stream so far), and how many of them a sweep has covered: one BatchGet.
   */
  async staleCopies(): Promise<{ made: number; swept: number }> {
    const keys = [SWEPT_KEY, ...Array.from({ length: this.shards }, (_, shard) => countsKey(shard))];
    let made = 0;
    let swept = 0;
    try {
      for (const item of await this.db.batchGet({ TableName: this.tableName, Keys: keys, ConsistentRead: true })) {
        if (item[PK] === SWEPT_KEY[PK]) swept = Number(item.through ?? 0);
        else made += Number(item[LEFT_FAILED] ?? 0);
      }
    } catch (error) {
      rethrowSdkError(error, 'DynamoDB');
    }
    return { made, swept };
  }

  /** Note that a sweep covered the first `made` stale copies; never moves back. */
  async markSwept(made: number): Promise<void> {
    try {
      await this.db.update({
        TableName: this.tableName,
        Key: SWEPT_KEY,
        UpdateExpression: 'SET #through = :made',
        ConditionExpression: 'attribute_not_exists(#through) OR #through < :made',
        ExpressionAttributeNames: { '#through': 'through' },
        ExpressionAttributeValues: { ':made': made },
      });
    } catch (error) {
      // a later sweep got further: nothing to do
      if ((error as Error).name === 'ConditionalCheckFailedException') return;
      rethrowSdkError(error, 'DynamoDB');
    }
  }

  /** Completed and failed per minute, for the `minutes` whole minutes up to `now`, oldest first: one Query a shard. */
  async throughput(minutes: number, now: number): Promise<MinuteThroughput[]> {
    const last = Math.floor(now / MINUTE);
    const first = last - minutes + 1;
    const found = new Map<number, { completed: number; failed: number }>();
    try {
      const shards = await Promise.all(
        Array.from({ length: this.shards }, (_, shard) =>
          this.db.query({
            TableName: this.tableName,
            KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
            ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
            // minute numbers have the same digit count for centuries, so text order is time order
            ExpressionAttributeValues: {
              ':pk': throughputKey(shard, first)[PK],
              ':from': throughputKey(shard, first)[SK],
              ':to': throughputKey(shard, last)[SK],
            },
          }),
        ),
      );
      for (const item of shards.flatMap(({ Items }) => Items)) {
        const minute = Number(String(item[SK]).slice('MINUTE#'.length));
        const bucket = found.get(minute) ?? { completed: 0, failed: 0 };
        found.set(minute, {
          completed: bucket.completed + Number(item.completed ?? 0),
          failed: bucket.failed + Number(item.failed ?? 0),
        });
      }
    } catch (error) {
      rethrowSdkError(error, 'DynamoDB');
    }
    return Array.from({ length: minutes }, (_, i) => {
      const minute = first + i;
      return { minute: minute * MINUTE, ...(found.get(minute) ?? { completed: 0, failed: 0 }) };
    });
  }

  /**
   * Bring the counters back to the truth after drift: `actual` was counted
   * from the jobs themselves; the difference goes to one shard. Only when the
   * counters still read `keptBefore` (nothing moved while the jobs were
   * counted): resolves false, changing nothing, otherwise.
   */
  async correct(actual: Record<JobState, number>, keptBefore: Record<JobState, number>): Promise<boolean> {
    const kept = await this.read();
    if (JOB_STATES.some((state) => kept[state] !== keptBefore[state])) return false;
    const deltas = Object.fromEntries(JOB_STATES.map((state) => [state, actual[state] - kept[state]]).filter(([, d]) => d !== 0));
    if (Object.keys(deltas).length === 0) return true;
    try {
      await this.add(countsKey(0), deltas);
    } catch (error) {
      rethrowSdkError(error, 'DynamoDB');
    }
    return true;
  }
}
