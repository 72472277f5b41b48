import { existsSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import path from 'node:path';
import { App, Duration, type CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readConfig } from '../../lambda/adapters/config';
import { QUEUE_SETTINGS } from '../../lambda/adapters/settings';
import { JOB_TABLE, createTableInput } from '../../lambda/adapters/table-schema';
import { RECONCILER, ROUTES, TASK_RUNNER, WORKER, routeKey, type Permissions, type Route } from '../../lambda/routes';
import { BULK_ROUTES, DEFAULT_API_THROTTLING } from '../../infra/api-throttling';
import { statementsFor } from '../../infra/route-grants';
import { actionsOf, allStatements, cdkJsonContext, refTarget, synthRequeue, type Statement, type Synthesized } from './synth-stack';
import { functionEnvironment, RequeueStack } from '../../infra/requeue-stack';

/** A template synthesized with more context, handlers not bundled. */
const synthRequeueWithContext = (context: Record<string, unknown>) =>
  Template.fromStack(new RequeueStack(new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], ...context } }), 'Requeue'));

type Resource = { Type: string; Properties: Record<string, any>; Metadata?: Record<string, any> };

let synthesized: Synthesized;
let template: Template;
let resources: Record<string, Resource>;

beforeAll(() => {
  // the one synth of this file, with the handlers bundled as `cdk synth` bundles them
  synthesized = synthRequeue({}, { bundle: true });
  template = synthesized.template;
  resources = template.toJSON().Resources;
});

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
  const mappings = ofType('AWS::Lambda::EventSourceMapping').filter(
    ([, m]) => refTarget(m.Properties.EventSourceArn) === queueId,
  );
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

/** What SQS event sources grant their function on the queue they read (CDK's grantConsumeMessages). */
const EVENT_SOURCE_ACTIONS = [
  'sqs:ReceiveMessage',
  'sqs:ChangeMessageVisibility',
  'sqs:GetQueueUrl',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
];

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

const resourceIds = (statement: Statement): string[] =>
  ([] as unknown[]).concat(statement.Resource).map((r) => {
    const join = (r as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
    // `<table id>/index/byState`; `arn:AWS::Partition:lambda:…:event-source-mapping:<mapping id>`
    return join ? join[1].map((part) => (typeof part === 'string' ? part : (refTarget(part) ?? JSON.stringify(part)))).join('') : (refTarget(r) ?? String(r));
  });

/** `action on resource` pairs, so two grants can be compared whatever their statement layout. */
const grantsOf = (statements: Statement[]): Set<string> =>
  new Set(statements.flatMap((s) => actionsOf(s).flatMap((a) => resourceIds(s).map((r) => `${a} on ${r}`))));


describe('HTTP API', () => {
  it('has exactly one route per route-table entry, and nothing else', () => {
    const keys = ofType('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties.RouteKey as string);
    expect(keys.sort()).toEqual(ROUTES.map(routeKey).sort());
    expect(keys).toHaveLength(ROUTES.length);
  });

  it('requires IAM (SigV4) authorization on every route by default, none open', () => {
    for (const [, route] of ofType('AWS::ApiGatewayV2::Route')) {
      expect(route.Properties.AuthorizationType).toBe('AWS_IAM');
    }
    template.resourcePropertiesCountIs('AWS::ApiGatewayV2::Route', { AuthorizationType: 'NONE' }, 0);
  });

  it('sends each route to the function built from its handler, with payload format 2.0', () => {
    for (const route of ROUTES) {
      const fn = resources[functionIdOf(route)]!;
      expect(fn.Properties.Description).toBe(route.description);
    }
    template.allResourcesProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
    });
  });

  it('logs every request to an access log group with a retention', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] }, Format: Match.stringLikeRegexp('requestId') },
    });
  });
  it('throttles the stage, and each bulk route tighter on its own', () => {
    const [[stageId, stage]] = ofType('AWS::ApiGatewayV2::Stage') as [[string, Resource]];
    expect(stage.Properties.DefaultRouteSettings).toEqual({
      ThrottlingRateLimit: DEFAULT_API_THROTTLING.default.rateLimit,
      ThrottlingBurstLimit: DEFAULT_API_THROTTLING.default.burstLimit,
    });
    const expected = Object.fromEntries(
      BULK_ROUTES.map((key) => [
        key,
        { ThrottlingRateLimit: DEFAULT_API_THROTTLING.bulk.rateLimit, ThrottlingBurstLimit: DEFAULT_API_THROTTLING.bulk.burstLimit },
      ]),
    );
    expect(stage.Properties.RouteSettings).toEqual(expected);
    // route settings may only name routes that exist: the stage waits for them
    const dependsOn = (template.toJSON().Resources[stageId].DependsOn ?? []) as string[];
    for (const key of BULK_ROUTES) {
      const [routeId] = ofType('AWS::ApiGatewayV2::Route').find(([, r]) => r.Properties.RouteKey === key)!;
      expect(dependsOn).toContain(routeId);
    }
    expect(ROUTES.map(routeKey)).toEqual(expect.arrayContaining([...BULK_ROUTES]));
  });
});

describe('functions', () => {
  it('has one function per route, the worker, the retry-task runner, the reconciler and the job changes counter', () => {
    template.resourceCountIs('AWS::Lambda::Function', ROUTES.length + 4);
    expect(resources[workerFunctionId()]!.Properties.Description).toBe(WORKER.description);
    expect(resources[taskRunnerFunctionId()]!.Properties.Description).toBe(TASK_RUNNER.description);
    expect(resources[reconcilerFunctionId()]!.Properties.Description).toBe(RECONCILER.description);
  });

  it('runs every function on nodejs22.x, arm64, with source maps, logging to its own group with a retention', () => {
    const logGroups = new Set<string>();
    for (const [, fn] of ofType('AWS::Lambda::Function')) {
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Handler: 'index.handler' });
      expect(fn.Properties.Environment.Variables.NODE_OPTIONS).toBe('--enable-source-maps');
      const logGroupId = refTarget(fn.Properties.LoggingConfig.LogGroup)!;
      expect(resources[logGroupId]!.Properties.RetentionInDays).toBeGreaterThan(0);
      logGroups.add(logGroupId);
    }
    expect(logGroups.size).toBe(ROUTES.length + 4);
  });

  it("logs JSON and leaves Lambda's own per-invocation records out, unless asked for them", () => {
    for (const [, fn] of ofType('AWS::Lambda::Function')) {
      expect(fn.Properties.LoggingConfig).toMatchObject({ LogFormat: 'JSON', SystemLogLevel: 'WARN' });
    }
    const info = synthRequeueWithContext({ lambdaSystemLogLevel: 'info' });
    for (const fn of Object.values(info.findResources('AWS::Lambda::Function'))) {
      expect(fn.Properties.LoggingConfig).toMatchObject({ LogFormat: 'JSON', SystemLogLevel: 'INFO' });
    }
    expect(() => synthRequeueWithContext({ lambdaSystemLogLevel: 'loud' })).toThrow(
      'lambdaSystemLogLevel must be one of DEBUG, INFO, WARN; got loud',
    );
  });

  it('deploys bundles that esbuild built locally: minified code with a linked source map', () => {
    for (const [, fn] of ofType('AWS::Lambda::Function')) {
      const assetDir = path.join(synthesized.app.outdir, fn.Metadata!['aws:asset:path']);
      const code = readFileSync(path.join(assetDir, 'index.js'), 'utf8');
      expect(code).toMatch(/sourceMappingURL=index\.js\.map/);
      expect(existsSync(path.join(assetDir, 'index.js.map'))).toBe(true);
      // Everything is bundled, the SDK included: nothing is left to the runtime's copy.
      // signature-v4-crt is the SDK's optional native SigV4a signer, required lazily
      // and only for multi-region endpoints, which SQS and DynamoDB do not use.
      const required = [...code.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]!);
      const packages = required.filter((m) => !isBuiltin(m) && m !== '@aws-sdk/signature-v4-crt');
      expect(packages).toEqual([]);
    }
  });

  it('gives every function the settings lambda/adapters/config.ts reads at cold start', () => {
    const visibility = String(resources[mainQueueId()]!.Properties.VisibilityTimeout);
    for (const [, fn] of ofType('AWS::Lambda::Function')) {
      const env = fn.Properties.Environment.Variables;
      expect(env).toMatchObject({
        POWERTOOLS_SERVICE_NAME: 'requeue',
        REQUEUE_TABLE_NAME: { Ref: tableId() },
        REQUEUE_QUEUE_URL: { Ref: mainQueueId() },
        REQUEUE_DLQ_URL: { Ref: deadLetterQueueId() },
        REQUEUE_TASK_QUEUE_URL: { Ref: taskQueueId() },
        REQUEUE_VISIBILITY_TIMEOUT: visibility,
      });
      const resolved = Object.fromEntries(
        Object.entries(env).map(([k, v]) => [k, typeof v === 'string' ? v : `deployed-${k}`]),
      );
      expect(readConfig(resolved).visibilityTimeoutMs).toBe(Number(visibility) * 1000);
    }
  });
});

describe('permissions', () => {
  it('grants no Allow statement a wildcard action or resource, anywhere in the template', () => {
    const statements = allStatements(template);
    expect(statements.filter((s) => s.type === 'AWS::IAM::Policy').length).toBeGreaterThanOrEqual(ROUTES.length + 3);
    for (const { holder, statement } of statements) {
      if (statement.Effect !== 'Allow') continue;
      expect({ holder, NotAction: statement.NotAction }).toEqual({ holder, NotAction: undefined });
      for (const action of actionsOf(statement)) expect({ holder, action }).toEqual({ holder, action: expect.not.stringContaining('*') });
      // ListStreams has no resource-level permissions: a stream's consumer must have it on *
      if (JSON.stringify(actionsOf(statement)) === '["dynamodb:ListStreams"]') continue;
      expect({ holder, resource: JSON.stringify(statement.Resource ?? null) }).toEqual({
        holder,
        resource: expect.not.stringMatching(/"\*"|\/\*"/),
      });
    }
  });

  it('has wildcard actions only in the queues\' deny-non-TLS statements', () => {
    const wildcards = allStatements(template).filter((s) => actionsOf(s.statement).some((a) => a.includes('*')));
    expect(wildcards.length).toBe(ofType('AWS::SQS::Queue').length);
    for (const { type, statement } of wildcards) {
      expect(type).toBe('AWS::SQS::QueuePolicy');
      expect(statement).toMatchObject({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } });
    }
  });

  it("gives the GET routes' roles read actions only (besides writing their own logs)", () => {
    const getRoutes = ROUTES.filter((r) => r.method === 'GET');
    expect(getRoutes.length).toBeGreaterThan(0);
    for (const route of getRoutes) {
      const functionId = functionIdOf(route);
      const ownLogGroup = refTarget(resources[functionId]!.Properties.LoggingConfig.LogGroup);
      const statements = roleStatements(functionId);
      // a route that reads the table (GET /openapi.json reads nothing of it)
      if (route.permissions.table.includes('read')) expect(statements.flatMap(actionsOf)).toContain('dynamodb:Query');
      for (const statement of statements) {
        for (const action of actionsOf(statement)) {
          if (action.startsWith('logs:')) {
            expect(resourceIds(statement)).toEqual([ownLogGroup]);
            expect(['logs:CreateLogStream', 'logs:PutLogEvents']).toContain(action);
          } else {
            expect({ route: routeKey(route), action }).toEqual({
              route: routeKey(route),
              action: expect.stringMatching(/^(dynamodb|sqs|lambda):(Get|BatchGet|Query|Scan|Describe|List)[A-Za-z]*$/),
            });
          }
        }
      }
    }
  });

  it('grants each function exactly what its route-table permissions come to, besides log writes and its event source', () => {
    // the same derivation the stack uses, with template references standing in for ARNs
    const arn = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] }) as unknown as string;
    const queue = (id: string) => ({ queueArn: arn(id) }) as never;
    const expectedGrants = (permissions: Permissions) =>
      grantsOf(
        statementsFor(permissions, {
          tableArns: [
            arn(tableId()),
            ...(createTableInput('jobs').GlobalSecondaryIndexes ?? []).map(
              (index) => ({ 'Fn::Join': ['', [arn(tableId()), `/index/${index.IndexName}`]] }) as never,
            ),
          ],
          mainQueue: queue(mainQueueId()),
          deadLetterQueue: queue(deadLetterQueueId()),
          taskQueue: queue(taskQueueId()),
          workerMappingArn: workerMappingArn() as never,
        }).map((st) => st.toStatementJson() as Statement),
      );
    const actualGrants = (functionId: string) =>
      grantsOf(roleStatements(functionId).filter((st) => !actionsOf(st).some((a) => a.startsWith('logs:'))));
    const checked: [string, string, Permissions, string | undefined][] = [
      ...ROUTES.map((r): [string, string, Permissions, undefined] => [routeKey(r), functionIdOf(r), r.permissions, undefined]),
      ['reconciler', reconcilerFunctionId(), RECONCILER.permissions, undefined],
      ['worker', workerFunctionId(), WORKER.permissions, mainQueueId()],
      ['task runner', taskRunnerFunctionId(), TASK_RUNNER.permissions, taskQueueId()],
    ];
    for (const [name, functionId, permissions, eventQueueId] of checked) {
      const expected = expectedGrants(permissions);
      if (eventQueueId) for (const action of EVENT_SOURCE_ACTIONS) expected.add(`${action} on ${eventQueueId}`);
      expect({ name, grants: [...actualGrants(functionId)].sort() }).toEqual({ name, grants: [...expected].sort() });
    }
  });

  it('lets the retry routes update jobs, send to the main queue, and receive and delete on the DLQ', () => {
    const retryRoutes = ROUTES.filter((r) => ['/jobs/retry/{jobId}', '/jobs/retry-all-failed'].includes(r.path));
    expect(retryRoutes).toHaveLength(2);
    for (const route of retryRoutes) {
      const grants = grantsOf(roleStatements(functionIdOf(route)));
      for (const needed of [
        `dynamodb:UpdateItem on ${tableId()}`,
        `sqs:SendMessage on ${mainQueueId()}`,
        `sqs:ReceiveMessage on ${deadLetterQueueId()}`,
        `sqs:DeleteMessage on ${deadLetterQueueId()}`,
      ]) {
        expect(grants).toContain(needed);
      }
      expect(grants).not.toContain(`sqs:SendMessage on ${deadLetterQueueId()}`);
    }
  });

  it("lets the worker consume and send on the main queue and send to the DLQ, but not consume from it", () => {
    const grants = grantsOf(roleStatements(workerFunctionId()));
    for (const needed of [
      `dynamodb:UpdateItem on ${tableId()}`,
      `sqs:ReceiveMessage on ${mainQueueId()}`,
      `sqs:DeleteMessage on ${mainQueueId()}`,
      `sqs:ChangeMessageVisibility on ${mainQueueId()}`,
      `sqs:SendMessage on ${mainQueueId()}`,
      `sqs:SendMessage on ${deadLetterQueueId()}`,
    ]) {
      expect(grants).toContain(needed);
    }
    expect(grants).not.toContain(`sqs:ReceiveMessage on ${deadLetterQueueId()}`);
  });

  it('lets only the functions that create items put them, and only those that remove jobs delete one', () => {
    const holders = (action: string) =>
      [
        ...ROUTES.map((r) => [routeKey(r), functionIdOf(r)] as const),
        ['worker', workerFunctionId()] as const,
        ['task runner', taskRunnerFunctionId()] as const,
        ['reconciler', reconcilerFunctionId()] as const,
      ]
        .filter(([, id]) => grantsOf(roleStatements(id)).has(`${action} on ${tableId()}`))
        .map(([name]) => name)
        .sort();
    // a new job; a retry task's or a recount's record, which its creator, its runner, a cancel and the reconciler's resume write whole
    expect(holders('dynamodb:PutItem')).toEqual(
      [
        'POST /jobs',
        'POST /jobs/recount',
        'POST /jobs/remove-all-failed',
        'POST /jobs/retry-all-failed',
        'POST /jobs/retry-tasks/{taskId}/cancel',
        'reconciler',
        'task runner',
      ].sort(),
    );
    // an enqueue whose message cannot be sent takes its job back; a removal, one by one or all failed (sync or as a task)
    expect(holders('dynamodb:DeleteItem')).toEqual(
      ['POST /jobs', 'DELETE /jobs/{jobId}', 'POST /jobs/remove-all-failed', 'task runner'].sort(),
    );
  });
});

describe("the worker's switch", () => {
  const functionsOf = (routeKeys: string[]) => routeKeys.map((key) => functionIdOf(ROUTES.find((r) => routeKey(r) === key)!)).sort();
  const switchRoutes = ['POST /jobs/pause', 'POST /jobs/resume'];

  it("lets only the pause and resume functions switch the worker's event source mapping, and them and the metrics read it, on that mapping alone", () => {
    const holders = new Map<string, Set<string>>();
    const resourcesOf: string[][] = [];
    for (const [functionId] of ofType('AWS::Lambda::Function')) {
      for (const statement of roleStatements(functionId)) {
        const lambdaActions = actionsOf(statement).filter((action) => action.startsWith('lambda:'));
        if (lambdaActions.length === 0) continue;
        resourcesOf.push(resourceIds(statement));
        for (const action of lambdaActions) holders.set(action, new Set([...(holders.get(action) ?? []), functionId]));
      }
    }
    expect([...holders.keys()].sort()).toEqual(['lambda:GetEventSourceMapping', 'lambda:UpdateEventSourceMapping']);
    expect([...holders.get('lambda:UpdateEventSourceMapping')!].sort()).toEqual(functionsOf(switchRoutes));
    expect([...holders.get('lambda:GetEventSourceMapping')!].sort()).toEqual(functionsOf([...switchRoutes, 'GET /jobs/metrics']));
    const mapping = `arn:AWS::Partition:lambda:AWS::Region:AWS::AccountId:event-source-mapping:${workerMappingId()}`;
    expect(resourcesOf).toEqual(resourcesOf.map(() => [mapping]));
    // no other statement names the mapping, nor any other mapping or function
    for (const { statement } of allStatements(template)) {
      if (!actionsOf(statement).some((action) => action.startsWith('lambda:'))) continue;
      expect(resourceIds(statement)).toEqual([mapping]);
    }
  });

  it("tells those three functions, and no other, the mapping's UUID", () => {
    const told = ofType('AWS::Lambda::Function')
      .filter(([, fn]) => fn.Properties.Environment.Variables.REQUEUE_WORKER_MAPPING_UUID !== undefined)
      .map(([id, fn]) => {
        expect(fn.Properties.Environment.Variables.REQUEUE_WORKER_MAPPING_UUID).toEqual({ Ref: workerMappingId() });
        return id;
      });
    expect(told.sort()).toEqual(functionsOf([...switchRoutes, 'GET /jobs/metrics']));
  });
});

describe('queues', () => {
  it('keeps dead-lettered messages 14 days', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      MessageRetentionPeriod: 1209600,
      RedrivePolicy: Match.absent(),
    });
    expect(resources[deadLetterQueueId()]!.Properties.MessageRetentionPeriod).toBe(1209600);
    expect(QUEUE_SETTINGS.deadLetterRetentionSeconds).toBe(1209600);
  });

  it('redrives the main queue to the DLQ with an explicit maxReceiveCount from QUEUE_SETTINGS', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [deadLetterQueueId(), 'Arn'] },
        maxReceiveCount: QUEUE_SETTINGS.safetyNetMaxReceiveCount,
      },
    });
  });

  it("lets only the main queue use the DLQ as its dead-letter queue, naming it in the DLQ's RedriveAllowPolicy", () => {
    const name = resources[mainQueueId()]!.Properties.QueueName as string;
    expect(name).toBe('Requeue-jobs');
    expect(resources[deadLetterQueueId()]!.Properties.RedriveAllowPolicy).toEqual({
      redrivePermission: 'byQueue',
      sourceQueueArns: [
        { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':sqs:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:${name}`]] },
      ],
    });
  });

  it("hides a received message for at least six times its consumer's timeout", () => {
    for (const queueId of [mainQueueId(), taskQueueId()]) {
      const timeout = resources[consumerOf(queueId)]!.Properties.Timeout as number;
      expect(resources[queueId]!.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * timeout);
    }
  });

  it('gives the tasks queue a dead-letter queue of its own, apart from the jobs\' one', () => {
    expect(taskDeadLetterQueueId()).not.toBe(deadLetterQueueId());
    expect(resources[taskQueueId()]!.Properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [taskDeadLetterQueueId(), 'Arn'] },
      maxReceiveCount: expect.any(Number),
    });
  });

  it('encrypts every queue and refuses requests not made over TLS', () => {
    const queueIds = ofType('AWS::SQS::Queue').map(([id]) => id);
    expect(queueIds).toHaveLength(4);
    for (const queueId of queueIds) {
      expect(resources[queueId]!.Properties.SqsManagedSseEnabled).toBe(true);
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: queueId }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 'sqs:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
              Resource: { 'Fn::GetAtt': [queueId, 'Arn'] },
            }),
          ]),
        },
      });
    }
  });
});

describe('event sources', () => {
  it("feeds the worker from the main queue: batch item failures reported, a batching window, concurrency capped", () => {
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 3);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [mainQueueId(), 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: QUEUE_SETTINGS.batchSize,
      MaximumBatchingWindowInSeconds: Match.anyValue(),
      ScalingConfig: { MaximumConcurrency: Match.anyValue() },
    });
    const mapping = ofType('AWS::Lambda::EventSourceMapping').find(([, m]) => refTarget(m.Properties.EventSourceArn) === mainQueueId())![1];
    expect(mapping.Properties.MaximumBatchingWindowInSeconds).toBeGreaterThan(0);
    expect(mapping.Properties.ScalingConfig.MaximumConcurrency).toBeGreaterThanOrEqual(2);
  });

  it("reserves the worker as much concurrency as its event source may use, and no other function any", () => {
    const mapping = ofType('AWS::Lambda::EventSourceMapping').find(([, m]) => refTarget(m.Properties.EventSourceArn) === mainQueueId())![1];
    const reserved = resources[workerFunctionId()]!.Properties.ReservedConcurrentExecutions;
    expect(reserved).toBe(mapping.Properties.ScalingConfig.MaximumConcurrency);
    const others = ofType('AWS::Lambda::Function').filter(([id]) => id !== workerFunctionId());
    for (const [, fn] of others) expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
  });

  it('refuses to reserve the worker less concurrency than its event source may use', () => {
    expect(() => synthRequeue({ workerMaxConcurrency: 10, workerReservedConcurrency: 5 }, { bundle: false })).toThrow(
      /workerReservedConcurrency \(5\) is below workerMaxConcurrency \(10\)/,
    );
  });

  it("gives the worker's jobs a default time limit inside the worker's own timeout", () => {
    const worker = ofType('AWS::Lambda::Function').find(([id]) => id === workerFunctionId())![1];
    const limitMs = Number(worker.Properties.Environment.Variables.REQUEUE_JOB_TIMEOUT_MS);
    expect(limitMs).toBeGreaterThan(0);
    expect(limitMs).toBeLessThan(worker.Properties.Timeout * 1000);
  });

  it('feeds the retry-task runner one chunk at a time from the tasks queue, failures reported per message', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [taskQueueId(), 'Arn'] },
      FunctionName: { Ref: taskRunnerFunctionId() },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 1,
      ScalingConfig: { MaximumConcurrency: Match.anyValue() },
    });
  });
});

describe('table', () => {
  it('is on-demand, with point-in-time recovery and the TTL attribute', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: JOB_TABLE.timeToLiveAttribute, Enabled: true },
    });
  });

  it('has the same keys, attribute types and indexes as the table the local runtime creates', () => {
    const local = createTableInput('jobs');
    const table = resources[tableId()]!.Properties;
    expect(table.KeySchema).toEqual(local.KeySchema);
    const byName = <T extends { AttributeName?: string; IndexName?: string }>(a: T, b: T) =>
      String(a.AttributeName ?? a.IndexName).localeCompare(String(b.AttributeName ?? b.IndexName));
    expect([...table.AttributeDefinitions].sort(byName)).toEqual([...local.AttributeDefinitions!].sort(byName));
    expect([...table.GlobalSecondaryIndexes].sort(byName)).toEqual([...local.GlobalSecondaryIndexes!].sort(byName));
    expect(table.GlobalSecondaryIndexes.map((i: { IndexName: string }) => i.IndexName)).toContain(JOB_TABLE.stateIndex.name);
  });

  it('refuses deletion, by the stack or by anyone, while deletion protection is on', () => {
    expect(resources[tableId()]!.Properties.DeletionProtectionEnabled).toBe(true);
  });

  it('is kept when the stack is deleted: it is the source of truth', () => {
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });
});

describe('reconciler', () => {
  it('runs on the route table\'s schedule, without retrying a failed run', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: RECONCILER.schedule,
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [reconcilerFunctionId(), 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 0 } })],
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: reconcilerFunctionId() },
      MaximumRetryAttempts: 0,
    });
  });
});

describe('alarms and outputs', () => {
  it('alarms when the DLQ holds any message', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [deadLetterQueueId(), 'QueueName'] } }],
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
    });
  });

  it('alarms on worker errors', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: workerFunctionId() } }],
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
    });
  });

  it('outputs the API URL, the queue URLs and the table name', () => {
    template.hasOutput('ApiUrl', { Value: Match.anyValue() });
    template.hasOutput('QueueUrl', { Value: { Ref: mainQueueId() } });
    template.hasOutput('TaskQueueUrl', { Value: { Ref: taskQueueId() } });
    template.hasOutput('DeadLetterQueueUrl', { Value: { Ref: deadLetterQueueId() } });
    template.hasOutput('TableName', { Value: { Ref: tableId() } });
  });

  it("outputs both queues' ARNs and the redrive command that moves the DLQ's messages to the main queue", () => {
    template.hasOutput('QueueArn', { Value: { 'Fn::GetAtt': [mainQueueId(), 'Arn'] } });
    template.hasOutput('DeadLetterQueueArn', { Value: { 'Fn::GetAtt': [deadLetterQueueId(), 'Arn'] } });
    template.hasOutput('RedriveCommand', {
      Value: {
        'Fn::Join': [
          '',
          [
            'aws sqs start-message-move-task --source-arn ',
            { 'Fn::GetAtt': [deadLetterQueueId(), 'Arn'] },
            ' --destination-arn ',
            { 'Fn::GetAtt': [mainQueueId(), 'Arn'] },
          ],
        ],
      },
    });
  });
});

describe('cdk-nag AwsSolutions', () => {
  it('reports no unacknowledged error or warning', () => {
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(synthesized.app);
    const findings = report.violations.map((v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`);
    expect(findings).toEqual([]);
  });
});

describe('function environment', () => {
  const settings = {
    tableName: 't',
    queueUrl: 'q',
    deadLetterQueueUrl: 'd',
    taskQueueUrl: 'k',
    visibilityTimeout: Duration.seconds(30),
  };

  it('passes the failed jobs’ retention when the stack is given one, else leaves the functions’ default', () => {
    expect(functionEnvironment({ ...settings, failedJobRetention: Duration.days(10) }).REQUEUE_FAILED_RETENTION_DAYS).toBe('10');
    expect(functionEnvironment(settings)).not.toHaveProperty('REQUEUE_FAILED_RETENTION_DAYS');
  });
});
