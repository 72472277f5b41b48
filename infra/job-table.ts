import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { JOB_TABLE, createTableInput } from '../lambda/adapters/table-schema';

// The local runtime creates its table from createTableInput; reading keys,
// types and indexes from the same input keeps the two tables the same shape.
const schema = createTableInput('schema');

const attribute = (name: string): dynamodb.Attribute => {
  const definition = schema.AttributeDefinitions?.find((d) => d.AttributeName === name);
  if (!definition?.AttributeType) throw new Error(`table-schema defines no type for key attribute ${name}`);
  return { name, type: definition.AttributeType as dynamodb.AttributeType };
};

const keyOf = (keySchema: readonly { AttributeName?: string; KeyType?: string }[] | undefined, type: 'HASH' | 'RANGE') => {
  const name = keySchema?.find((k) => k.KeyType === type)?.AttributeName;
  return name === undefined ? undefined : attribute(name);
};

export interface JobTableProps {
  /**
   * The table is the source of truth for every job: keep it when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Refuse DeleteTable, from the stack or anyone else, until it is turned off:
   * deleting the table deletes every job's record.
   * @default true
   */
  readonly deletionProtection?: boolean;
}

/**
 * The job table: on-demand, point-in-time recovery, finished jobs expiring
 * through TTL, a stream of every change (the counters are kept from it), and
 * the indexes the core queries.
 */
export class JobTable extends Construct {
  public readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: JobTableProps = {}) {
    super(scope, id);

    const partitionKey = keyOf(schema.KeySchema, 'HASH');
    if (!partitionKey) throw new Error('table-schema defines no partition key');
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey,
      sortKey: keyOf(schema.KeySchema, 'RANGE'),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: JOB_TABLE.timeToLiveAttribute,
      // both images of each change: the state a job left and the one it entered (count-job-changes)
      stream: dynamodb.StreamViewType[JOB_TABLE.streamViewType],
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      deletionProtection: props.deletionProtection ?? true,
    });

    for (const index of schema.GlobalSecondaryIndexes ?? []) {
      const indexPartitionKey = keyOf(index.KeySchema, 'HASH');
      if (!index.IndexName || !indexPartitionKey) throw new Error('table-schema has an index without a name or partition key');
      this.table.addGlobalSecondaryIndex({
        indexName: index.IndexName,
        partitionKey: indexPartitionKey,
        sortKey: keyOf(index.KeySchema, 'RANGE'),
        projectionType: (index.Projection?.ProjectionType ?? 'ALL') as dynamodb.ProjectionType,
        nonKeyAttributes: index.Projection?.NonKeyAttributes,
      });
    }
  }

  /** ARNs a grant on this table covers: the table and each of its indexes, named. */
  public get resourceArns(): string[] {
    return [
      this.table.tableArn,
      ...(schema.GlobalSecondaryIndexes ?? []).map((index) => `${this.table.tableArn}/index/${index.IndexName}`),
    ];
  }
}
