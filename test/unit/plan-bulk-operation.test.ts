import { planBulkOperation, SYNC_BULK_LIMIT } from '../../lambda/core/plan-bulk-operation';
import type { RetryAllRequest } from '../../lambda/core/retry-all-request';

/** A store with `failed` matching jobs, counting as DynamoDB would: up to `upTo` when given. */
const storeOf = (failed: number) => {
  const countFailed = jest.fn(async (_filter: unknown, upTo?: number) => Math.min(failed, upTo ?? Number.POSITIVE_INFINITY));
  return { countFailed };
};
const request = (over: Partial<RetryAllRequest> = {}): RetryAllRequest => ({ filter: {}, dryRun: false, async: false, ...over });

describe('planBulkOperation', () => {
  it('runs a set of up to SYNC_BULK_LIMIT jobs in the request, counting no further than the limit', async () => {
    const store = storeOf(SYNC_BULK_LIMIT);
    expect(await planBulkOperation(store, request())).toEqual({ run: 'now' });
    expect(store.countFailed).toHaveBeenCalledWith({}, SYNC_BULK_LIMIT + 1);
  });

  it('runs a larger set as a task, counted in full', async () => {
    expect(await planBulkOperation(storeOf(5_000), request())).toEqual({ run: 'task', total: 5_000 });
  });

  it('runs a larger set cut by its limit in the request, and the limit is the task total past it', async () => {
    expect(await planBulkOperation(storeOf(5_000), request({ limit: 10 }))).toEqual({ run: 'now' });
    expect(await planBulkOperation(storeOf(5_000), request({ limit: 2_000 }))).toEqual({ run: 'task', total: 2_000 });
  });

  it('runs a task when asked, however small', async () => {
    expect(await planBulkOperation(storeOf(3), request({ async: true }))).toEqual({ run: 'task', total: 3 });
  });

  it('counts for a dry run, within the limit', async () => {
    expect(await planBulkOperation(storeOf(5_000), request({ dryRun: true, limit: 40 }))).toEqual({ run: 'dry-run', total: 40 });
  });
});
