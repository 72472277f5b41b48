import { CreateTableCommand, DescribeTableCommand, type DynamoDBClient, type TableDescription } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { QUEUE_SETTINGS, TASK_QUEUE_SETTINGS } from '../lambda/adapters/settings';
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

/** A table's keys, key types, indexes (with their projections) and stream, in one comparable spelling. */
const shapeOf = (table: Pick<TableDescription, 'KeySchema' | 'AttributeDefinitions' | 'GlobalSecondaryIndexes' | 'StreamSpecification'>): string =>
  JSON.stringify({
    stream: table.StreamSpecification?.StreamEnabled ? table.StreamSpecification.StreamViewType : 'none',
    keys: (table.KeySchema ?? []).map((k) => `${k.AttributeName}:${k.KeyType}`),
    types: (table.AttributeDefinitions ?? []).map((a) => `${a.AttributeName}:${a.AttributeType}`).sort(),
    indexes: (table.GlobalSecondaryIndexes ?? [])
      .map((index) => ({
        name: index.IndexName,
        keys: (index.KeySchema ?? []).map((k) => `${k.AttributeName}:${k.KeyType}`),
        projection: index.Projection?.ProjectionType,
        attributes: [...(index.Projection?.NonKeyAttributes ?? [])].sort(),
      }))
      .sort((a, b) => String(a.name).localeCompare(String(b.name))),
  });

/**
 * The local table is kept on disk: one a version with another item shape
 * created would be read wrongly (or refused) by every handler. Say so at
 * start, plainly, instead. (The project is unreleased: no migration.)
 */
const ensureTable = async (dynamodb: DynamoDBClient, tableName: string): Promise<void> => {
  const wanted = createTableInput(tableName);
  let existing: TableDescription | undefined;
  try {
    existing = (await dynamodb.send(new DescribeTableCommand({ TableName: tableName }))).Table;
  } catch (error) {
    if ((error as Error).name !== 'ResourceNotFoundException') throw error;
    await dynamodb.send(new CreateTableCommand(wanted));
    return;
  }
  if (existing && shapeOf(existing) !== shapeOf(wanted)) {
    throw new Error(
      `The stored table ${tableName} was made by another version of requeue, with other keys or indexes than this one uses ` +
        `(found ${shapeOf(existing)}, expected ${shapeOf(wanted)}). ` +
        'Delete the data folder (.requeue/ unless REQUEUE_DATA_DIR names another) or set REQUEUE_DATA_DIR to a new folder, and start again.',
    );
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
        MessageRetentionPeriod: String(QUEUE_SETTINGS.retentionSeconds),
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
      Attributes: { VisibilityTimeout: String(TASK_QUEUE_SETTINGS.visibilityTimeoutSeconds) },
    }),
  );
  return {
    tableName: names.tableName,
    queueUrl: main.QueueUrl!,
    deadLetterQueueUrl: dlq.QueueUrl!,
    taskQueueUrl: tasks.QueueUrl!,
  };
};
