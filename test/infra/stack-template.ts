import type { CfnElement } from 'aws-cdk-lib';
import { actionsOf, refTarget, type Statement, type Synthesized } from './synth-stack';
import { routeKey, type Route } from '../../lambda/routes';

export type Resource = { Type: string; Properties: Record<string, any>; Metadata?: Record<string, any> };

/** What SQS event sources grant their function on the queue they read (CDK's grantConsumeMessages). */
export const EVENT_SOURCE_ACTIONS = [
  'sqs:ReceiveMessage',
  'sqs:ChangeMessageVisibility',
  'sqs:GetQueueUrl',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
];

export const resourceIds = (statement: Statement): string[] =>
  ([] as unknown[]).concat(statement.Resource).map((r) => {
    const join = (r as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
    // `<table id>/index/byState`; `arn:AWS::Partition:lambda:…:event-source-mapping:<mapping id>`
    return join ? join[1].map((part) => (typeof part === 'string' ? part : (refTarget(part) ?? JSON.stringify(part)))).join('') : (refTarget(r) ?? String(r));
  });

/** `action on resource` pairs, so two grants can be compared whatever their statement layout. */
export const grantsOf = (statements: Statement[]): Set<string> =>
  new Set(statements.flatMap((s) => actionsOf(s).flatMap((a) => resourceIds(s).map((r) => `${a} on ${r}`))));

/** The resources of a synthesized RequeueStack, found by following the template's references. */
export const stackTemplate = (synthesized: Synthesized) => {
  const template = synthesized.template;
  const resources = template.toJSON().Resources as Record<string, Resource>;

  const ofType = (type: string): [string, Resource][] => Object.entries(resources).filter(([, r]) => r.Type === type);

  const routeResource = (route: Pick<Route, 'method' | 'path'>): Resource => {
    const found = ofType('AWS::ApiGatewayV2::Route').filter(([, r]) => r.Properties.RouteKey === routeKey(route));
    expect(found).toHaveLength(1);
    return found[0]![1];
  };

  /** Route → integration → function logical id, followed through the template. */
  const functionIdOf = (route: Route): string => {
    const target = routeResource(route).Properties.Target as { 'Fn::Join': [string, unknown[]] };
    const integrationId = refTarget(target['Fn::Join'][1][1])!;
    return refTarget(resources[integrationId]!.Properties.IntegrationUri)!;
  };

  /** The logical id of a construct's CloudFormation resource. */
  const idOf = (construct: { node: { defaultChild?: unknown } }): string =>
    synthesized.stack.getLogicalId(construct.node.defaultChild as CfnElement);

  const mainQueueId = () => idOf(synthesized.stack.queues.queue);
  const deadLetterQueueId = () => idOf(synthesized.stack.queues.deadLetterQueue);
  const taskQueueId = () => idOf(synthesized.stack.taskQueues.queue);
  const taskDeadLetterQueueId = () => idOf(synthesized.stack.taskQueues.deadLetterQueue);
  const tableId = () => idOf(synthesized.stack.jobTable.table);

  /** The function an event source mapping feeds from `queueId`, followed through the template. */
  const consumerOf = (queueId: string): string => {
    const mappings = ofType('AWS::Lambda::EventSourceMapping').filter(([, m]) => refTarget(m.Properties.EventSourceArn) === queueId);
    expect(mappings).toHaveLength(1);
    return refTarget(mappings[0]![1].Properties.FunctionName)!;
  };
  const workerFunctionId = () => consumerOf(mainQueueId());
  /** The worker's event source mapping, which POST /jobs/pause disables. */
  const workerMappingId = (): string => {
    const mappings = ofType('AWS::Lambda::EventSourceMapping').filter(([, m]) => refTarget(m.Properties.EventSourceArn) === mainQueueId());
    expect(mappings).toHaveLength(1);
    return mappings[0]![0];
  };
  /** Its ARN, as CDK writes it: `arn:<partition>:lambda:<region>:<account>:event-source-mapping:<uuid>`. */
  const workerMappingArn = () => ({
    'Fn::Join': [
      '',
      ['arn:', { Ref: 'AWS::Partition' }, ':lambda:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':event-source-mapping:', { Ref: workerMappingId() }],
    ],
  });
  const taskRunnerFunctionId = () => consumerOf(taskQueueId());
  const reconcilerFunctionId = (): string => {
    const [[, rule]] = ofType('AWS::Events::Rule') as [[string, Resource]];
    return refTarget(rule.Properties.Targets[0].Arn)!;
  };

  /** Every Allow statement that applies to a function's role: its policies and inline policies. */
  const roleStatements = (functionId: string): Statement[] => {
    const roleId = refTarget(resources[functionId]!.Properties.Role)!;
    const role = resources[roleId]!;
    expect(role.Properties.ManagedPolicyArns ?? []).toEqual([]);
    const inline = ((role.Properties.Policies ?? []) as { PolicyDocument: { Statement: Statement[] } }[]).flatMap(
      (p) => p.PolicyDocument.Statement,
    );
    const attached = ofType('AWS::IAM::Policy')
      .filter(([, p]) => (p.Properties.Roles as unknown[]).some((r) => refTarget(r) === roleId))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Statement[]);
    return [...inline, ...attached].filter((s) => s.Effect === 'Allow');
  };

  return {
    synthesized,
    template,
    resources,
    ofType,
    routeResource,
    functionIdOf,
    idOf,
    mainQueueId,
    deadLetterQueueId,
    taskQueueId,
    taskDeadLetterQueueId,
    tableId,
    consumerOf,
    workerFunctionId,
    workerMappingId,
    workerMappingArn,
    taskRunnerFunctionId,
    reconcilerFunctionId,
    roleStatements,
  };
};

export type StackTemplate = ReturnType<typeof stackTemplate>;
