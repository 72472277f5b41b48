import { Duration } from 'aws-cdk-lib';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { Construct } from 'constructs';
import { TASK_QUEUE_SETTINGS } from '../lambda/adapters/settings';
import { TASK_RUNNER } from '../lambda/routes';
import { RequeueFunction } from './requeue-function';
import { grantPermissions, type GrantTargets } from './route-grants';

export interface TaskRunnerFunctionProps {
  /** What every function reads (functionEnvironment). */
  readonly environment: Readonly<Record<string, string>>;
  /** What its route-table permissions apply to; `taskQueue` also feeds it. */
  readonly grants: GrantTargets;
}

/** Runs retry tasks and recounts chunk by chunk, fed by the tasks queue. */
export class TaskRunnerFunction extends RequeueFunction {
  constructor(scope: Construct, id: string, props: TaskRunnerFunctionProps) {
    super(scope, id, {
      handler: TASK_RUNNER.handler,
      description: TASK_RUNNER.description,
      environment: props.environment,
      timeout: Duration.seconds(TASK_RUNNER.timeoutSeconds),
    });
    grantPermissions(this.function, TASK_RUNNER.permissions, props.grants);
    this.function.addEventSource(
      new SqsEventSource(props.grants.taskQueue, {
        batchSize: TASK_QUEUE_SETTINGS.batchSize,
        maxConcurrency: TASK_QUEUE_SETTINGS.maxConcurrency,
        reportBatchItemFailures: true,
      }),
    );
  }
}
