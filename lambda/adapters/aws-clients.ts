import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';

export interface ClientOptions {
  /**
   * Build each command's middleware stack once per client instead of on every
   * request. Not for a client wrapped by lib-dynamodb's DocumentClient, which
   * refuses it.
   * @default false
   */
  readonly cacheMiddleware?: boolean;
}

/**
 * SDK clients configured only from the environment, so the same code talks
 * to AWS, LocalStack or the local emulators (AWS_ENDPOINT_URL,
 * AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_LAMBDA,
 * AWS_REGION).
 */
export const createDynamoDbClient = ({ cacheMiddleware = false }: ClientOptions = {}): DynamoDBClient =>
  new DynamoDBClient({ cacheMiddleware });

/**
 * SQS requests go to the configured endpoint, not to the host inside a queue
 * URL: emulators hand out URLs such as `sqs.us-east-1.localhost` that do
 * not resolve, and on AWS both are the same regional endpoint.
 */
export const createSqsClient = ({ cacheMiddleware = false }: ClientOptions = {}): SQSClient =>
  new SQSClient({ useQueueUrlAsEndpoint: false, cacheMiddleware });

/** For the worker's event source mapping (locally: the stand-in in local/lambda-front.ts). */
export const createLambdaClient = (): LambdaClient => new LambdaClient({});
