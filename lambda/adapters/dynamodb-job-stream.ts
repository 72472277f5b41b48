import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { JOB_STATES, type JobState } from '../core/job';
import type { EventPattern } from '../routes';

/**
 * Whether `value` matches `pattern` as Lambda's event filtering matches a
 * record: every field the pattern names must be present with one of the
 * values listed (a string, or `{prefix}`), nested objects alike.
 */
export const matchesPattern = (value: unknown, pattern: EventPattern): boolean =>
  Object.entries(pattern).every(([field, rule]) => {
    const actual = (value as Record<string, unknown> | undefined)?.[field];
    if (!Array.isArray(rule)) return typeof actual === 'object' && actual !== null && matchesPattern(actual, rule as EventPattern);
    return (rule as readonly (string | { prefix: string })[]).some((allowed) =>
      typeof allowed === 'string' ? actual === allowed : typeof actual === 'string' && actual.startsWith(allowed.prefix),
    );
  });

const isJobState = (value: unknown): value is JobState => JOB_STATES.includes(value as JobState);

/**
 * The states the jobs of `records` were in when TTL deleted them, from each
 * record's old image (the stream's view is OLD_IMAGE). Records that are not
 * such deletes (the event filter lets none through, a hand-made event might)
 * and images without a job state are left out.
 */
export const expiredJobStates = (records: readonly DynamoDBRecord[], filter: EventPattern): JobState[] =>
  records.flatMap((record) => {
    const image = record.dynamodb?.OldImage;
    if (!image || !matchesPattern(record, filter)) return [];
    const { state } = unmarshall(image as Record<string, AttributeValue>);
    return isJobState(state) ? [state] : [];
  });
