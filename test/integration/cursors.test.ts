import { ValidationError } from '../../lambda/core/errors';
import type { FailedJobFilter } from '../../lambda/core/failed-job-filter';
import { DynamoDbJobStore } from '../../lambda/adapters/dynamodb-job-store';
import { storeFailedJob } from '../support/job-fixtures';
import { freshResources } from '../support/resources';

let store: DynamoDbJobStore;
const T = 1_700_000_000_000;

beforeAll(async () => {
  const { tableName } = await freshResources();
  store = new DynamoDbJobStore({ tableName, retentionMs: 60_000 });
  for (let i = 0; i < 6; i++) {
    await storeFailedJob(store, { id: `c${i}`, name: i % 2 ? 'odd.job' : 'even.job', failedAt: T + i * 1000, error: `Boom ${i}` });
  }
});

const decode = (cursor: string) => JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>;
const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** The cursor after the first job of `filter`'s listing. */
const firstCursor = async (filter: FailedJobFilter = {}) => (await store.listFailed(filter, 1)).cursor!;

describe('cursors', () => {
  it('continue the query that made them, to its end', async () => {
    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.listFailedSummaries({ since: T + 1000 }, 2, cursor);
      ids.push(...page.items.map((job) => job.id));
      cursor = page.cursor;
    } while (cursor);
    expect(ids).toEqual(['c5', 'c4', 'c3', 'c2', 'c1']);
  });

  it.each<[string, FailedJobFilter]>([
    ['a name', { name: 'odd.job' }],
    ['a since', { since: T }],
    ['an until', { until: T + 10_000 }],
    ['an error', { error: 'boom' }],
  ])('are refused when reused with %s the first page did not have', async (_, other) => {
    const cursor = await firstCursor();
    await expect(store.listFailed(other, 2, cursor)).rejects.toThrow(ValidationError);
    await expect(store.listFailedSummaries(other, 2, cursor)).rejects.toThrow(/same filters/);
  });

  it('are refused by another listing: a failed page cursor is no cursor of waiting jobs', async () => {
    await expect(store.listByState('waiting', 2, await firstCursor())).rejects.toThrow(ValidationError);
  });

  it('are refused when any field is forged', async () => {
    const cursor = await firstCursor();
    const real = decode(cursor);
    const forgeries: unknown[] = [
      { ...real, v: 2 },
      { ...real, q: 'A'.repeat(16) },
      { ...real, id: 'a/b' },
      { ...real, id: 'a b' },
      { ...real, id: 'x'.repeat(129) },
      { ...real, id: 7 },
      { ...real, at: String(real.at) },
      { ...real, at: (real.at as number) + 0.5 },
      { ...real, at: 1 }, // a failed partition's keys are negative
      { ...real, at: -Number.MAX_SAFE_INTEGER - 2 },
      { ...real, extra: true },
      { q: real.q, v: real.v, id: real.id, at: real.at }, // the same fields, in another order
      Object.fromEntries(Object.entries(real).filter(([k]) => k !== 'at')),
      [real.v, real.q, real.id, real.at],
      null,
      { pk: `JOB#${real.id}`, sk: 'JOB', gsi1pk: 'STATE#failed', gsi1sk: real.at }, // the key as cursors used to carry it
    ];
    for (const forged of forgeries) {
      await expect(store.listFailed({}, 2, encode(forged))).rejects.toThrow(ValidationError);
    }
    for (const text of [`${cursor}=`, `${cursor}.`, cursor.slice(0, -1), '', 'x'.repeat(2000), '%%%', `${cursor} `]) {
      await expect(store.listFailed({}, 2, text)).rejects.toThrow(ValidationError);
    }
  });

  it('are refused when their position lies outside the query', async () => {
    const filter = { since: T + 3000 };
    const cursor = await firstCursor(filter);
    // the same query, its position moved past `since`: a key this query never reads
    const outside = encode({ ...decode(cursor), at: -(T + 1000) });
    await expect(store.listFailed(filter, 2, outside)).rejects.toThrow(ValidationError);
  });
});
