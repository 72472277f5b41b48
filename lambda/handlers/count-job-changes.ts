import type { DynamoDBStreamEvent } from 'aws-lambda';
import { jobChanges } from '../adapters/dynamodb-job-stream';
import { services } from '../adapters/services';
import { JOB_CHANGES_COUNTER } from '../routes';

const { store } = services();

/**
 * Invoked by the table's stream with a batch of changes of job items. A
 * failed counter write throws: the stream hands the same records again, and
 * the items written before refuse them (see DynamoDbJobCounters.apply).
 */
export const handler = async (event: DynamoDBStreamEvent): Promise<{ records: number }> => {
  await store.countChanges(jobChanges(event.Records, JOB_CHANGES_COUNTER.filter));
  return { records: event.Records.length };
};
