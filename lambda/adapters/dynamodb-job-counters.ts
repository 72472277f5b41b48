import { randomInt } from 'node:crypto';
import { JOB_STATES, type JobState } from '../core/job';
import type { MinuteThroughput } from '../core/ports';
import { rethrowSdkError } from './dependency-errors';
import type { DynamoDbDocuments } from './dynamodb-documents';
import { JOB_TABLE } from './table-schema';

const { partitionKey: PK, sortKey: SK, timeToLiveAttribute } = JOB_TABLE;

/**
 * Counts per state kept beside the jobs, so metrics read a few small items
 * however many jobs there are. Each change of state adds -1 to the old
 * state's count and +1 to the new one's, on one of SHARDS counter items
 * chosen at random so that no single item takes every write. Changes are
 * buffered and written together (`flush`): a process that dies before
 * flushing leaves the counts a little off, which `recount` repairs.
 *
 * Items:
 * - pk `COUNTS`, sk `SHARD#<n>`: one number attribute per state
 * - pk `THROUGHPUT`, sk `MINUTE#<epoch minute>`: completed, failed; expire after a day
 */
export const COUNTER_SHARDS = 8;
const MINUTE = 60_000;
const THROUGHPUT_RETENTION_S = 24 * 60 * 60;

export class DynamoDbJobCounters {
  private states = new Map<JobState, number>();
  private minutes = new Map<number, { completed: number; failed: number }>();
  /** Changes recorded so far, and how many of them are written. */
  private recorded = 0;
  private written = 0;
  private writing: Promise<void> | undefined;

  constructor(
    private readonly db: DynamoDbDocuments,
    private readonly tableName: string,
  ) {}

  /** Note a job leaving `from` (absent for a new job) for `to` (absent for a removed one) at `at`. */
  record(from: JobState | undefined, to: JobState | undefined, at: number): void {
    if (from === to) return;
    if (from) this.states.set(from, (this.states.get(from) ?? 0) - 1);
    if (to) this.states.set(to, (this.states.get(to) ?? 0) + 1);
    // an execution's outcome, not a retry undone or a job re-sent
    if (from === 'active' && (to === 'completed' || to === 'failed')) {
      const minute = Math.floor(at / MINUTE);
      const bucket = this.minutes.get(minute) ?? { completed: 0, failed: 0 };
      bucket[to]++;
      this.minutes.set(minute, bucket);
    }
    this.recorded++;
  }

  get unflushed(): number {
    return this.recorded - this.written;
  }

  /**
   * Write every change recorded so far. Callers at the same time share the
   * writes: one in flight at a time, each taking all changes gathered until it
   * starts, so concurrent requests in one process cost one or two updates,
   * not one each.
   */
  async flush(): Promise<void> {
    const target = this.recorded;
    while (this.written < target) {
      this.writing ??= this.writeGathered().finally(() => {
        this.writing = undefined;
      });
      await this.writing;
    }
  }

  /** One update for the states, one per minute bucket; on failure the changes stay for the next flush. */
  private async writeGathered(): Promise<void> {
    const upTo = this.recorded;
    const states = this.states;
    const minutes = this.minutes;
    this.states = new Map();
    this.minutes = new Map();
    const nonZero = [...states].filter(([, n]) => n !== 0);
    try {
      await Promise.all([
        nonZero.length > 0
          ? this.add({ [PK]: 'COUNTS', [SK]: `SHARD#${randomInt(COUNTER_SHARDS)}` }, Object.fromEntries(nonZero))
          : undefined,
        ...[...minutes].map(([minute, counts]) =>
          this.add({ [PK]: 'THROUGHPUT', [SK]: `MINUTE#${minute}` }, counts, (minute * MINUTE) / 1000 + THROUGHPUT_RETENTION_S),
        ),
      ]);
      this.written = upTo;
    } catch (error) {
      for (const [state, n] of states) this.states.set(state, (this.states.get(state) ?? 0) + n);
      for (const [minute, counts] of minutes) {
        const bucket = this.minutes.get(minute) ?? { completed: 0, failed: 0 };
        this.minutes.set(minute, { completed: bucket.completed + counts.completed, failed: bucket.failed + counts.failed });
      }
      rethrowSdkError(error, 'DynamoDB');
    }
  }

  private async add(key: Record<string, string>, deltas: Record<string, number>, expiresAt?: number): Promise<void> {
    const names: Record<string, string> = {};
    const values: Record<string, number> = {};
    const adds = Object.entries(deltas).map(([attribute, delta], i) => {
      names[`#a${i}`] = attribute;
      values[`:d${i}`] = delta;
      return `#a${i} :d${i}`;
    });
    if (expiresAt !== undefined) {
      names['#ttl'] = timeToLiveAttribute;
      values[':ttl'] = Math.ceil(expiresAt);
    }
    await this.db.update({
      TableName: this.tableName,
      Key: key,
      UpdateExpression: `ADD ${adds.join(', ')}${expiresAt !== undefined ? ' SET #ttl = :ttl' : ''}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    });
  }

  async read(): Promise<Record<JobState, number>> {
    const counts = Object.fromEntries(JOB_STATES.map((state) => [state, 0])) as Record<JobState, number>;
    try {
      const { Items } = await this.db.query({
        TableName: this.tableName,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': PK },
        ExpressionAttributeValues: { ':pk': 'COUNTS' },
        ConsistentRead: true,
      });
      for (const item of Items) for (const state of JOB_STATES) counts[state] += Number(item[state] ?? 0);
    } catch (error) {
      rethrowSdkError(error, 'DynamoDB');
    }
    return counts;
  }

  /** Completed and failed per minute, for the `minutes` whole minutes up to `now`, oldest first. */
  async throughput(minutes: number, now: number): Promise<MinuteThroughput[]> {
    const last = Math.floor(now / MINUTE);
    const first = last - minutes + 1;
    const found = new Map<number, { completed: number; failed: number }>();
    try {
      const { Items } = await this.db.query({
        TableName: this.tableName,
        KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
        ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
        // minute numbers have the same digit count for centuries, so text order is time order
        ExpressionAttributeValues: { ':pk': 'THROUGHPUT', ':from': `MINUTE#${first}`, ':to': `MINUTE#${last}` },
      });
      for (const item of Items) {
        found.set(Number(String(item[SK]).slice('MINUTE#'.length)), {
          completed: Number(item.completed ?? 0),
          failed: Number(item.failed ?? 0),
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
      await this.add({ [PK]: 'COUNTS', [SK]: 'SHARD#0' }, deltas);
    } catch (error) {
      rethrowSdkError(error, 'DynamoDB');
    }
    return true;
  }
}
