import type { DynamoDbDocuments, QueryInput, QueryOutput } from './dynamodb-documents';

/**
 * The pages of a Query, in order, each sent from where the one before ended
 * (its LastEvaluatedKey) until DynamoDB reports no more. A page is read only
 * when asked for, so a caller that has read enough stops reading by leaving
 * the loop. `limit`, asked before each page, gives that page's Limit from
 * what the caller has taken so far.
 */
export async function* queryPages(
  db: DynamoDbDocuments,
  input: Omit<QueryInput, 'ExclusiveStartKey' | 'Limit'>,
  limit?: () => number | undefined,
): AsyncGenerator<QueryOutput, void, undefined> {
  let startKey: QueryInput['ExclusiveStartKey'];
  do {
    const page = await db.query({ ...input, Limit: limit?.(), ExclusiveStartKey: startKey });
    yield page;
    startKey = page.LastEvaluatedKey;
  } while (startKey);
}
