import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { createDynamoDbClient, createSqsClient } from '../../lambda/adapters/aws-clients';
import { provision, type Resources } from '../../local/provision';

/**
 * A fresh table and pair of queues for one test file, on the endpoint the
 * global setup chose, with the handlers' environment pointed at them. Call it
 * before importing any handler: handlers read their settings at import.
 */
export const freshResources = async (
  options: { visibilityTimeoutSeconds?: number } = {},
): Promise<Resources & { dynamodb: DynamoDBClient; sqs: SQSClient }> => {
  const suffix = randomUUID().slice(0, 8);
  const dynamodb = createDynamoDbClient();
  const sqs = createSqsClient();
  const visibilityTimeoutSeconds = options.visibilityTimeoutSeconds ?? 30;
  const resources = await provision(
    { dynamodb, sqs },
    {
      tableName: `requeue-test-${suffix}`,
      queueName: `requeue-test-${suffix}`,
      deadLetterQueueName: `requeue-test-${suffix}-dlq`,
      visibilityTimeoutSeconds,
    },
  );
  process.env.REQUEUE_TABLE_NAME = resources.tableName;
  process.env.REQUEUE_QUEUE_URL = resources.queueUrl;
  process.env.REQUEUE_DLQ_URL = resources.deadLetterQueueUrl;
  process.env.REQUEUE_TASK_QUEUE_URL = resources.taskQueueUrl;
  process.env.REQUEUE_VISIBILITY_TIMEOUT = String(visibilityTimeoutSeconds);
  // the counting function runs with no batching window here (stream-counting.ts): what the recount waits out
  process.env.REQUEUE_STREAM_WINDOW_MS = '1';
  return { ...resources, dynamodb, sqs };
};
