import { CreateTableCommand, DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { QUEUE_SETTINGS } from '../lambda/adapters/queue-settings';
import { createTableInput } from '../lambda/adapters/table-schema';

export interface ResourceNames {
  readonly tableName: string;
  readonly queueName: string;
  readonly deadLetterQueueName: string;
  readonly visibilityTimeoutSeconds: number;
}

export interface Resources {
  readonly tableName: string;
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
  /** `<queueName>-tasks`: wakes the retry-task runner. */
  readonly taskQueueUrl: string;
}

/** A retry task's chunk runs this long at most; its queue hides a message longer than that. */
export const TASK_CHUNK_SECONDS = 60;

const ensureTable = async (dynamodb: DynamoDBClient, tableName: string): Promise<void> => {
  try {
    await dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
  } catch (error) {
    if ((error as Error).name !== 'ResourceNotFoundException') throw error;
    await dynamodb.send(new CreateTableCommand(createTableInput(tableName)));
  }
};

/** Create the table, the dead-letter queue and the main queue where missing (the same shape as the stack). */
export const provision = async (
  clients: { dynamodb: DynamoDBClient; sqs: SQSClient },
  names: ResourceNames,
): Promise<Resources> => {
  await ensureTable(clients.dynamodb, names.tableName);
  const dlq = await clients.sqs.send(
    new CreateQueueCommand({
      QueueName: names.deadLetterQueueName,
      Attributes: { MessageRetentionPeriod: String(QUEUE_SETTINGS.deadLetterRetentionSeconds) },
    }),
  );
  const dlqArn = await clients.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  const main = await clients.sqs.send(
    new CreateQueueCommand({
      QueueName: names.queueName,
      Attributes: {
        VisibilityTimeout: String(names.visibilityTimeoutSeconds),
        // as on AWS: a job may be delayed 7 days, its message must outlive that
        MessageRetentionPeriod: String(14 * 24 * 60 * 60),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: dlqArn.Attributes?.QueueArn,
          maxReceiveCount: String(QUEUE_SETTINGS.safetyNetMaxReceiveCount),
        }),
      },
    }),
  );
  const tasks = await clients.sqs.send(
    new CreateQueueCommand({
      QueueName: `${names.queueName}-tasks`,
      Attributes: { VisibilityTimeout: String(TASK_CHUNK_SECONDS * 3) },
    }),
  );
  return {
    tableName: names.tableName,
    queueUrl: main.QueueUrl!,
    deadLetterQueueUrl: dlq.QueueUrl!,
    taskQueueUrl: tasks.QueueUrl!,
  };
};
