import { Duration, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { Construct } from 'constructs';
import { JOB_CHANGES_COUNTER } from '../lambda/routes';
import { RequeueFunction } from './requeue-function';
import { grantPermissions, type GrantTargets } from './route-grants';

export interface JobChangesCounterProps {
  /** The job table, whose stream feeds the counter. */
  readonly table: dynamodb.ITable;
  /** What every function reads (functionEnvironment). */
  readonly environment: Readonly<Record<string, string>>;
  readonly grants: GrantTargets;
}

/** Keeps the per-state counters from the job table's stream (JOB_CHANGES_COUNTER in lambda/routes.ts). */
export class JobChangesCounter extends RequeueFunction {
  constructor(scope: Construct, id: string, props: JobChangesCounterProps) {
    super(scope, id, {
      handler: JOB_CHANGES_COUNTER.handler,
      description: JOB_CHANGES_COUNTER.description,
      environment: props.environment,
      timeout: Duration.seconds(JOB_CHANGES_COUNTER.timeoutSeconds),
    });
    grantPermissions(this.function, JOB_CHANGES_COUNTER.permissions, props.grants);
    this.function.addEventSource(
      new DynamoEventSource(props.table, {
        // every change still in the stream (it keeps 24 hours) is counted, also those before a deployment
        startingPosition: lambda.StartingPosition.TRIM_HORIZON,
        batchSize: JOB_CHANGES_COUNTER.batchSize,
        // a batch is a counter write or two: gather changes for a while rather than invoke per job
        maxBatchingWindow: Duration.seconds(JOB_CHANGES_COUNTER.maxBatchingWindowSeconds),
        filters: [{ pattern: JSON.stringify(JOB_CHANGES_COUNTER.filter) }],
        // counts must skip no record: a failed batch is tried again, as it was, until it goes through
        retryAttempts: -1,
        bisectBatchOnError: false,
      }),
    );
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'dynamodb:ListStreams, which a stream event source needs, supports no resource-level permissions: it can ' +
        'only be granted on * (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html). ' +
        'It lists stream ARNs only; reading a stream is granted on this table\'s stream alone.',
    });
  }
}
