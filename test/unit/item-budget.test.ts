import { marshall } from '@aws-sdk/util-dynamodb';
import { toItem, toStackItem } from '../../lambda/adapters/dynamodb-job-item';
import type { HistoryEntry, Job, RetryRecord } from '../../lambda/core/job';
import { BUDGETS, LIMITS } from '../../lambda/core/limits';
import { itemSize, MAX_ITEM_BYTES } from '../../lambda/adapters/dynamodb-item-size';

/** A string of `bytes` UTF-8 bytes, of 3-byte characters where they fit. */
const text = (bytes: number) => '€'.repeat(Math.floor(bytes / 3)) + 'x'.repeat(bytes % 3);
/** A JSON string value whose JSON text is `bytes` long. */
const jsonOf = (bytes: number) => text(bytes - 2);

const LATE = 99_999_999_999_999; // far larger than any epoch-ms time we will see
const BIG = Number.MAX_SAFE_INTEGER;

/**
 * Every part of a job at its budget at once, and every optional field set,
 * more than any one state holds: the item can only be smaller than this.
 */
const worstCase = (): Job => {
  const history: HistoryEntry[] = Array.from({ length: BUDGETS.historyEntries }, () => ({
    generation: BIG,
    attempt: LIMITS.maxAttempts,
    start: LATE,
    end: LATE,
    outcome: 'timed-out',
    error: text(BUDGETS.historyErrorBytes),
  }));
  const retries: RetryRecord[] = Array.from({ length: BUDGETS.historyEntries }, () => ({
    at: LATE,
    source: 'redrive',
    generation: BIG,
    // a retry task's id: a UUID
    taskId: '00000000-0000-4000-8000-000000000000',
    by: text(BUDGETS.actorBytes),
    dataChanged: true,
  }));
  return {
    id: 'i'.repeat(128),
    name: 'n'.repeat(128),
    data: jsonOf(BUDGETS.dataBytes),
    opts: { attempts: LIMITS.maxAttempts, backoff: { type: 'exponential', delay: LIMITS.maxBackoffDelayMs }, delay: LIMITS.maxDelayMs, timeout: LIMITS.maxTimeoutMs },
    state: 'failed',
    attempts: LIMITS.maxAttempts,
    maxAttempts: LIMITS.maxAttempts,
    generation: BIG,
    error: text(BUDGETS.errorBytes),
    stacktrace: text(BUDGETS.stackBytes),
    returnValue: jsonOf(BUDGETS.returnValueBytes),
    createdAt: LATE,
    processedAt: LATE,
    finishedAt: LATE,
    failedAt: LATE,
    runAt: LATE,
    leaseUntil: LATE,
    resentAt: LATE,
    history,
    historyDropped: BIG,
    retries,
  };
};

describe('a job item at every budget', () => {
  it('stays under DynamoDB’s 400 KB item limit, with a margin', () => {
    const job = worstCase();
    const item = marshall(toItem(job, 7 * 24 * 3600_000), { removeUndefinedValues: true });
    const size = itemSize(item);
    // the sum in limits.ts, measured
    expect(size).toBeLessThan(MAX_ITEM_BYTES - 64 * 1024);
    // the stack trace is in an item of its own: no later write carries it
    expect(item).not.toHaveProperty('stacktrace');
    const parts = {
      history: itemSize({ history: item.history }),
      retries: itemSize({ retries: item.retries }),
      errorLower: itemSize({ errorLower: item.errorLower }),
      rest: itemSize(Object.fromEntries(Object.entries(item).filter(([k]) => !['data', 'returnValue', 'error', 'stacktrace', 'history', 'retries', 'errorLower'].includes(k)))),
    };
    expect(parts.history).toBeLessThan(64 * 1024);
    expect(parts.retries).toBeLessThan(24 * 1024);
    expect(parts.errorLower).toBeLessThanOrEqual(BUDGETS.errorBytes + 'errorLower'.length);
    expect(parts.rest).toBeLessThan(2 * 1024);
  });
});

describe("a job's stack item", () => {
  it('holds a stack of its budget and the name of its execution, far under the limit', () => {
    const job = worstCase();
    const size = itemSize(marshall(toStackItem(job, job.stacktrace!, 7 * 24 * 3600_000, Date.now()), { removeUndefinedValues: true }));
    expect(size).toBeLessThan(BUDGETS.stackBytes + 512);
  });
});

describe("a failed job's lower-cased error, kept for the error filter", () => {
  it('stays within the error budget when lower case takes more bytes', () => {
    // U+0130 (2 bytes) lower-cases to 'i' and a combining dot (3 bytes)
    const error = '\u0130'.repeat(BUDGETS.errorBytes / 2);
    const item = toItem({ ...worstCase(), error }, 0);
    const lower = item.errorLower as string;
    expect(Buffer.byteLength(lower)).toBeLessThanOrEqual(BUDGETS.errorBytes);
    expect(error.toLowerCase().startsWith(lower)).toBe(true);
    expect(lower.length).toBeGreaterThan(0);
  });
});
