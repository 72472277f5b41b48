import * as iam from 'aws-cdk-lib/aws-iam';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Permissions, QueueAccess, TableAccess, WorkerSwitchAccess } from '../lambda/routes';

/**
 * IAM actions for each access level the route table can ask for. Only the
 * calls the adapters make, one level each, so that a function that never
 * creates or deletes an item cannot: a bug or a stolen role in the worker
 * cannot overwrite a job whole or remove one.
 * test/infra/route-grants.test.ts fails when an adapter starts sending a
 * command that no access level covers.
 */
export const TABLE_ACTIONS: Readonly<Record<TableAccess, readonly string[]>> = {
  read: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'],
  update: ['dynamodb:UpdateItem'],
  put: ['dynamodb:PutItem'],
  delete: ['dynamodb:DeleteItem'],
};

/** sqs:SendMessage also authorizes SendMessageBatch; likewise for Delete and ChangeMessageVisibility. */
export const QUEUE_ACTIONS: Readonly<Record<QueueAccess, readonly string[]>> = {
  send: ['sqs:SendMessage'],
  consume: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility'],
  attributes: ['sqs:GetQueueAttributes'],
};

/** Lambda authorizes both on the mapping's own ARN (`…:event-source-mapping:<uuid>`). */
export const WORKER_SWITCH_ACTIONS: Readonly<Record<WorkerSwitchAccess, readonly string[]>> = {
  read: ['lambda:GetEventSourceMapping'],
  update: ['lambda:UpdateEventSourceMapping'],
};

export interface GrantTargets {
  /** The table and its indexes, each by its own ARN. */
  readonly tableArns: readonly string[];
  readonly mainQueue: IQueue;
  readonly deadLetterQueue: IQueue;
  readonly taskQueue: IQueue;
  /** The worker's SQS event source mapping. */
  readonly workerMappingArn: string;
}

const queueStatement = (queue: IQueue, access: readonly QueueAccess[] | undefined): iam.PolicyStatement[] => {
  if (!access?.length) return [];
  const actions = [...new Set(access.flatMap((level) => QUEUE_ACTIONS[level]))];
  return [new iam.PolicyStatement({ actions, resources: [queue.queueArn] })];
};

/** The statements a route's permissions (as data in lambda/routes.ts) come to. */
export const statementsFor = (permissions: Permissions, targets: GrantTargets): iam.PolicyStatement[] => [
  // a statement must name an action: a function that never touches the table gets none on it
  ...(permissions.table.length === 0
    ? []
    : [
        new iam.PolicyStatement({
          actions: [...new Set(permissions.table.flatMap((level) => TABLE_ACTIONS[level]))],
          resources: [...targets.tableArns],
        }),
      ]),
  ...queueStatement(targets.mainQueue, permissions.mainQueue),
  ...queueStatement(targets.deadLetterQueue, permissions.deadLetterQueue),
  ...queueStatement(targets.taskQueue, permissions.taskQueue),
  ...(permissions.workerSwitch?.length
    ? [
        new iam.PolicyStatement({
          actions: [...new Set(permissions.workerSwitch.flatMap((level) => WORKER_SWITCH_ACTIONS[level]))],
          resources: [targets.workerMappingArn],
        }),
      ]
    : []),
];

export const grantPermissions = (grantee: iam.IGrantable, permissions: Permissions, targets: GrantTargets): void => {
  for (const statement of statementsFor(permissions, targets)) grantee.grantPrincipal.addToPrincipalPolicy(statement);
};
