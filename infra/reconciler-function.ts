import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type { Construct } from 'constructs';
import { RECONCILER } from '../lambda/routes';
import { RequeueFunction } from './requeue-function';
import { grantPermissions, type GrantTargets } from './route-grants';

export interface ReconcilerFunctionProps {
  /** What every function reads (functionEnvironment). */
  readonly environment: Readonly<Record<string, string>>;
  readonly grants: GrantTargets;
}

/** The reconciler, run by an EventBridge rule on the route table's schedule. */
export class ReconcilerFunction extends RequeueFunction {
  public readonly schedule: events.Rule;

  constructor(scope: Construct, id: string, props: ReconcilerFunctionProps) {
    super(scope, id, {
      handler: RECONCILER.handler,
      description: RECONCILER.description,
      environment: props.environment,
      timeout: Duration.seconds(RECONCILER.timeoutSeconds),
    });
    grantPermissions(this.function, RECONCILER.permissions, props.grants);
    // a missed or failed run is made up by the next one, a minute later: no retries
    this.function.configureAsyncInvoke({ retryAttempts: 0 });
    // beside the function, not under it: a rule's logical id follows its path, and another id replaces the rule
    this.schedule = new events.Rule(scope, 'ReconcileSchedule', {
      description: RECONCILER.description,
      schedule: events.Schedule.expression(RECONCILER.schedule),
      targets: [new targets.LambdaFunction(this.function, { retryAttempts: 0 })],
    });
  }
}
