import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { JOB_STATES, type JobState } from '../core/job';
import type { CounterChanges } from '../core/ports';
import type { EventPattern } from '../routes';
import { ChangeTally } from './dynamodb-job-counters';

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

type Image = NonNullable<DynamoDBRecord['dynamodb']>['NewImage'];
const read = (image: Image): Record<string, unknown> | undefined => image && unmarshall(image as Record<string, AttributeValue>);
const stateOf = (item: Record<string, unknown> | undefined): JobState | undefined => (isJobState(item?.state) ? item.state : undefined);

/**
 * What the changes of job items in `records` do to the counters: from each
 * record's old and new image (the stream's view is NEW_AND_OLD_IMAGES) the
 * state a job left and the one it entered: none before an INSERT, none after
 * a REMOVE (TTL's deletes and the API's alike). An outcome counts in the
 * minute the job finished. Records the filter does not take (the event
 * source mapping lets none through, a hand-made event might) are left out.
 * The batch is named by its first record's sequence number.
 */
export const jobChanges = (records: readonly DynamoDBRecord[], filter: EventPattern): CounterChanges => {
  const tally = new ChangeTally(records[0]?.dynamodb?.SequenceNumber ?? '');
  for (const record of records) {
    if (!record.dynamodb || !matchesPattern(record, filter)) continue;
    const before = read(record.dynamodb.OldImage);
    const after = read(record.dynamodb.NewImage);
    const finishedAt = typeof after?.finishedAt === 'number' ? after.finishedAt : undefined;
    tally.add(stateOf(before), stateOf(after), finishedAt ?? (record.dynamodb.ApproximateCreationDateTime ?? 0) * 1000);
  }
  return tally;
};
