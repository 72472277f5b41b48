import type { DynamoDBStreamEvent } from 'aws-lambda';
import { expiredJobStates } from '../adapters/dynamodb-job-stream';
import { services } from '../adapters/services';
import { EXPIRY_COUNTER } from '../routes';

const { store } = services();

/**
 * Invoked by the table's stream with the jobs TTL deleted. A failed counter
 * write throws and changes nothing: the stream hands the same records again.
 */
export const handler = async (event: DynamoDBStreamEvent): Promise<{ expired: number }> => {
  const states = expiredJobStates(event.Records, EXPIRY_COUNTER.filter);
  await store.countExpired(states);
  return { expired: states.length };
};
