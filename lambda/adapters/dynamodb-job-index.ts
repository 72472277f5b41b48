import type { FailedJobFilter } from '../core/failed-job-filter';
import type { JobState } from '../core/job';
import type { DynamoDbDocuments, QueryOutput } from './dynamodb-documents';
import { clampTime, entryOf, ERROR_LOWER, groupOf, MAX_TIME, orderKey, type Entry } from './dynamodb-job-item';
import { queryPages } from './dynamodb-query-pages';
import { JOB_TABLE } from './table-schema';

// How listings read the job indexes: a listing's partitions, one shard's
// Query, and the merge of every shard into one newest-first order.

const { stateIndex, failedByNameIndex } = JOB_TABLE;

type IndexKeys = { readonly name: string; readonly partitionKey: string; readonly sortKey: string };

/** `name`: for the states whose index partitions hold every name, the items read are filtered on it. */
export type IndexRange = { readonly since?: number; readonly until?: number; readonly error?: string; readonly name?: string };

/**
 * A listing: the index it reads, the partition prefix its shards share
 * (`<prefix>#<shard>`), and the state its jobs must be in (the pending
 * partitions hold three states: the items read tell them apart).
 */
export interface Listing {
  readonly index: IndexKeys;
  readonly prefix: string;
  readonly state: JobState;
}

export const stateListing = (state: JobState): Listing => ({ index: stateIndex, prefix: `STATE#${groupOf(state)}`, state });
export const failedListing = (filter: FailedJobFilter): Listing =>
  filter.name === undefined
    ? stateListing('failed')
    : { index: failedByNameIndex, prefix: `FAILED#${filter.name}`, state: 'failed' };

/** The range of negated times the query reads: a cursor's position must lie in it. */
export const sortKeyRange = ({ since, until }: IndexRange): [number, number] => [
  -clampTime(until ?? MAX_TIME),
  -clampTime(since ?? 0),
];

/**
 * The query of one shard of a listing, its time within [since, until] (and
 * past `after`, a sort key already taken), its error containing `error`, in
 * the index's forward order: newest first. Only the sort key comes back; it
 * holds the job's id.
 */
export const shardQuery = (tableName: string, { index }: Listing, { since, until, error }: IndexRange, after?: string) => {
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
export class MergedShards {
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
