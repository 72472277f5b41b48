import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { createDynamoDbClient, createSqsClient } from '../../lambda/adapters/aws-clients';
import { provision, type Resources } from '../../local/provision';
import { LocalEventSourceMapping } from '../../local/event-source-mapping';
import { startLambdaFront, type LambdaFront } from '../../local/lambda-front';

/** One local Lambda API per test file, for the worker's event source mapping. */
let lambdaFront: Promise<LambdaFront> | undefined;

/** A mapping with no pollers behind it: pausing and resuming it moves its state alone. */
const idleMapping = (eventSourceArn: string) =>
  new LocalEventSourceMapping({
    uuid: randomUUID(),
    eventSourceArn,
    functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:requeue-worker',
    batchSize: 10,
    enabled: true,
    start: () => ({ inFlight: 0, stop: async () => undefined, drain: async () => undefined }),
  });

/**
 * A fresh table and pair of queues for one test file, on the endpoint the
 * global setup chose, with the handlers' environment pointed at them. Call it
 * before importing any handler: handlers read their settings at import.
 */
export const freshResources = async (
  options: { visibilityTimeoutSeconds?: number } = {},
): Promise<Resources & { dynamodb: DynamoDBClient; sqs: SQSClient; lambdaFront: LambdaFront; workerMapping: LocalEventSourceMapping }> => {
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
  // the metrics and the pause routes read the worker's mapping through the Lambda API: a local one, never AWS
  const front = await (lambdaFront ??= startLambdaFront({ port: 0, host: '127.0.0.1', unref: true }));
  const workerMapping = idleMapping(`arn:aws:sqs:us-east-1:000000000000:requeue-test-${suffix}`);
  front.add(workerMapping);
  process.env.AWS_ENDPOINT_URL_LAMBDA = front.endpoint;
  process.env.REQUEUE_WORKER_MAPPING_UUID = workerMapping.uuid;
  return { ...resources, dynamodb, sqs, lambdaFront: front, workerMapping };
};
