import type { FailedJobSummary, Job, JobState, JobSummary } from '../core/job';
import { entryOf, fromItem } from './dynamodb-job-item';
import { JOB_TABLE } from './table-schema';

const { stateIndex } = JOB_TABLE;

/** Which attributes a page reads of each item (all when absent), and what it makes of each. */
export interface Projection<T> {
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
export const bytesInResponse = (item: unknown): number => Buffer.byteLength(JSON.stringify(JSON.stringify(item))) - 2 + 1;

/**
 * Whole jobs are read to act on them, never returned: a page of them stops
 * at 16 MB counted as above (a job's item may hold some 320 KB), so that a
 * function of 512 MB holding one page while it reads the next stays within
 * its memory whatever the jobs' size.
 */
export const MAX_WHOLE_JOB_PAGE_BYTES = 16 * 1024 * 1024;

export const WHOLE_JOB: Projection<Job> = { map: fromItem, maxPageBytes: MAX_WHOLE_JOB_PAGE_BYTES };

export const SUMMARY: Projection<FailedJobSummary> = {
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

/** Summaries of any state: the time in the byState sort key is when the job entered its group, as listings sort it. */
export const JOB_SUMMARY: Projection<JobSummary> = {
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
