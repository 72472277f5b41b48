import { randomUUID } from 'node:crypto';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { createDynamoDbClient, createSqsClient } from '../../lambda/adapters/aws-clients';
import { createTableInput } from '../../lambda/adapters/table-schema';
import { provision } from '../../local/provision';

const clients = { dynamodb: createDynamoDbClient(), sqs: createSqsClient() };
const names = (tableName: string) => ({
  tableName,
  queueName: tableName,
  deadLetterQueueName: `${tableName}-dlq`,
  visibilityTimeoutSeconds: 30,
});

describe('the local table at start', () => {
  it('is created, then found as it is on the next start', async () => {
    const tableName = `requeue-shape-${randomUUID().slice(0, 8)}`;
    await provision(clients, names(tableName));
    await expect(provision(clients, names(tableName))).resolves.toMatchObject({ tableName });
  });

  it('is refused, saying what to do, when an older version made it with other indexes', async () => {
    const tableName = `requeue-shape-${randomUUID().slice(0, 8)}`;
    const current = createTableInput(tableName);
    // as the version before sharded index keys made it: numeric sort keys, whole items projected
    await clients.dynamodb.send(
      new CreateTableCommand({
        ...current,
        AttributeDefinitions: current.AttributeDefinitions!.map((a) =>
          a.AttributeName!.startsWith('gsi') && a.AttributeName!.endsWith('sk') ? { ...a, AttributeType: 'N' } : a,
        ),
        GlobalSecondaryIndexes: current.GlobalSecondaryIndexes!.map((index) => ({ ...index, Projection: { ProjectionType: 'ALL' } })),
      }),
    );
    await expect(provision(clients, names(tableName))).rejects.toThrow(
      /made by another version of requeue.*Delete the data folder \(\.requeue\/ unless REQUEUE_DATA_DIR names another\) or set REQUEUE_DATA_DIR/,
    );
  });
});
