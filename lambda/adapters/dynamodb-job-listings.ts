import { stateChangedAt, type Job, type JobState } from '../core/job';
import type { Page } from '../core/ports';
import { rethrowSdkError } from './dependency-errors';
import type { Document, DynamoDbDocuments } from './dynamodb-documents';
import { encodeCursor, decodeCursor, queryDigest } from './dynamodb-job-cursor';
import { MergedShards, shardQuery, sortKeyRange, stateListing, type IndexRange, type Listing } from './dynamodb-job-index';
import { entryOf, fromItem, groupOf, jobKey, type Entry } from './dynamodb-job-item';
import { bytesInResponse, WHOLE_JOB, type Projection } from './dynamodb-job-projections';
import { queryPages } from './dynamodb-query-pages';
import { JOB_TABLE } from './table-schema';

const { stateIndex } = JOB_TABLE;

/** Index entries a recount reads per page (a COUNT Query reads 1 MB at most anyway). */
const COUNT_PAGE = 5_000;
/** A recount's page of pending entries: their items are read by key, so it is kept to a few BatchGetItems. */
const PENDING_COUNT_PAGE = 500;
/**
 * Index entries one page examines at most. Each costs a read of its item,
 * and a listing whose state is rare among the pending jobs passes over many
 * for each it keeps: a page must answer within API Gateway's 29 s and read a
 * bounded number of units, so it stops here and hands back a cursor, short
 * or empty, as DynamoDB's own Query with a filter does. maxListLimit is no
 * more, so a page whose entries all match can always fill.
 */
export const PAGE_ENTRY_BUDGET = 1_000;
/** BatchGetItem's keys a request: the most entries a batch reads beyond what the page still wants. */
const BATCH_GET_KEYS = 100;

/**
 * The job store's reads of its indexes: pages of a listing, and counts of
 * its entries. Every shard of a partition is read, as ids hash over them.
 */
export class DynamoDbJobListings {
  constructor(
    private readonly db: DynamoDbDocuments,
    private readonly tableName: string,
    private readonly shards: number,
  ) {}

  /** Index entries of a listing, every shard counted in parallel, each up to `upTo`. */
  async countEntries(listing: Listing, range: IndexRange, upTo = Number.POSITIVE_INFINITY): Promise<number> {
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
   * At most PAGE_ENTRY_BUDGET entries are examined: past that the page ends
   * with what it found, its cursor after the last entry examined. A batch
   * that keeps fewer than it read makes the next one wider (the listed state
   * is rare), so a page reads the entries it needs in few round trips while
   * a listing whose entries all match reads no more than it shows.
   */
  async page<T = Job>(
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
    // entries read but not examined: the page filled in the middle of a batch
    let unused = false;
    let examined = 0;
    let wider = 0;
    const budget = Math.max(limit, PAGE_ENTRY_BUDGET);
    try {
      while (!cut && items.length < limit && examined < budget) {
        const want = limit - items.length;
        const entries = await merged.take(Math.min(Math.max(want, wider), budget - examined));
        if (entries.length === 0) break;
        const keptBefore = items.length;
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
          if (items.length === limit) {
            unused = true;
            break;
          }
          examined++;
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
        // widen at the match rate seen so far, doubling while nothing matched
        if (items.length - keptBefore < entries.length) {
          const rest = limit - items.length;
          const guess = items.length === 0 ? 2 * Math.max(wider, entries.length) : Math.ceil((rest * examined) / items.length);
          wider = Math.min(BATCH_GET_KEYS, guess);
        }
      }
    } catch (error) {
      return rethrowSdkError(error, 'DynamoDB');
    }
    // cut short or full mid-batch, the page continues after the last entry it used, not after the last one read
    const more = cut || unused || merged.mayHaveMore;
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

  /** Every job counted by state, from the indexes and (for the pending states) the items. */
  async countAll(): Promise<Record<JobState, number>> {
    const [pending, completed, failed] = await Promise.all([
      this.countPending(),
      this.countEntries(stateListing('completed'), {}),
      this.countEntries(stateListing('failed'), {}),
    ]);
    return { ...pending, completed, failed };
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
}
