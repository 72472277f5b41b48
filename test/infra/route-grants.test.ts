import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../infra/project-root';
import { createTableInput } from '../../lambda/adapters/table-schema';
import { RECONCILER, ROUTES, TASK_RUNNER, WORKER, routeKey, type Permissions } from '../../lambda/routes';
import { QUEUE_ACTIONS, TABLE_ACTIONS, WORKER_SWITCH_ACTIONS, statementsFor } from '../../infra/route-grants';
import { EVENT_SOURCE_ACTIONS, grantsOf, resourceIds, stackTemplate, type StackTemplate } from './stack-template';
import { actionsOf, allStatements, refTarget, synthRequeue, type Statement } from './synth-stack';

/**
 * The IAM action each SDK command needs (lib-dynamodb and client-dynamodb names
 * alike). A command missing here fails the test as unmapped: add it, and the
 * action to route-grants.ts if a function needs it.
 */
const DYNAMODB_ACTION: Record<string, string> = {
  Get: 'GetItem',
  GetItem: 'GetItem',
  Put: 'PutItem',
  PutItem: 'PutItem',
  Update: 'UpdateItem',
  UpdateItem: 'UpdateItem',
  Delete: 'DeleteItem',
  DeleteItem: 'DeleteItem',
  Query: 'Query',
  Scan: 'Scan',
  BatchGet: 'BatchGetItem',
  BatchGetItem: 'BatchGetItem',
  BatchWrite: 'BatchWriteItem',
  BatchWriteItem: 'BatchWriteItem',
  DescribeTable: 'DescribeTable',
};
/** SQS's batch calls are authorized by the single-message action. */
const sqsAction = (command: string): string => command.replace(/Batch$/, '');

const sourceFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });

/** Lambda's actions are its commands' names. */
const LAMBDA_COMMANDS = new Set(['GetEventSourceMapping', 'UpdateEventSourceMapping']);

/** `dynamodb:GetItem`-style actions for every SDK command a file under lambda/ imports. */
const actionsTheFunctionsCall = (): Map<string, string[]> => {
  const found = new Map<string, string[]>();
  const importFrom = /import\s*\{([^}]*)\}\s*from\s*'@aws-sdk\/(client-sqs|client-dynamodb|lib-dynamodb|client-lambda)'/g;
  for (const file of sourceFiles(path.join(PROJECT_ROOT, 'lambda'))) {
    for (const [, names, module] of readFileSync(file, 'utf8').matchAll(importFrom)) {
      for (const raw of names!.split(',')) {
        const name = raw.trim();
        const command = /^([A-Za-z]+)Command$/.exec(name)?.[1];
        if (!command) continue; // types, clients, CommandInput/Output types
        const action =
          module === 'client-sqs'
            ? `sqs:${sqsAction(command)}`
            : module === 'client-lambda'
              ? `lambda:${LAMBDA_COMMANDS.has(command) ? command : `unmapped ${command}`}`
              : `dynamodb:${DYNAMODB_ACTION[command] ?? `unmapped ${command}`}`;
        found.set(action, [...(found.get(action) ?? []), path.relative(PROJECT_ROOT, file)]);
      }
    }
  }
  return found;
};

describe('route grants', () => {
  it('cover every DynamoDB, SQS and Lambda call the functions make (under lambda/)', () => {
    const called = actionsTheFunctionsCall();
    // the scan must see the adapters' calls, or it proves nothing
    expect([...called.keys()]).toEqual(
      expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:Query', 'sqs:SendMessage', 'lambda:UpdateEventSourceMapping']),
    );
    const granted = new Set([...Object.values(TABLE_ACTIONS), ...Object.values(QUEUE_ACTIONS), ...Object.values(WORKER_SWITCH_ACTIONS)].flat());
    const missing = [...called].filter(([action]) => !granted.has(action)).map(([action, files]) => `${action} (${files.join(', ')})`);
    expect(missing).toEqual([]);
  });

  it('give read access no write action', () => {
    for (const action of TABLE_ACTIONS.read) expect(action).toMatch(/^dynamodb:(Get|BatchGet|Query|Scan|Describe)/);
    expect(QUEUE_ACTIONS.attributes).toEqual(['sqs:GetQueueAttributes']);
  });

  it('keep creating and deleting items apart from updating them, one action per write level', () => {
    expect([TABLE_ACTIONS.update, TABLE_ACTIONS.put, TABLE_ACTIONS.delete]).toEqual([
      ['dynamodb:UpdateItem'],
      ['dynamodb:PutItem'],
      ['dynamodb:DeleteItem'],
    ]);
  });

  it("give reading the worker's switch no write action", () => {
    expect(WORKER_SWITCH_ACTIONS.read).toEqual(['lambda:GetEventSourceMapping']);
  });

  it('grant no wildcard action', () => {
    for (const action of [...Object.values(TABLE_ACTIONS), ...Object.values(QUEUE_ACTIONS), ...Object.values(WORKER_SWITCH_ACTIONS)].flat()) {
      expect(action).not.toContain('*');
    }
  });
});

// what the stack grants each function, in its template
let t: StackTemplate;

beforeAll(() => {
  t = stackTemplate(synthRequeue({}, { bundle: false }));
});

describe('permissions', () => {
  it('grants no Allow statement a wildcard action or resource, anywhere in the template', () => {
    const statements = allStatements(t.template);
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
    const wildcards = allStatements(t.template).filter((s) => actionsOf(s.statement).some((a) => a.includes('*')));
    expect(wildcards.length).toBe(t.ofType('AWS::SQS::Queue').length);
    for (const { type, statement } of wildcards) {
      expect(type).toBe('AWS::SQS::QueuePolicy');
      expect(statement).toMatchObject({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } });
    }
  });

  it("gives the GET routes' roles read actions only (besides writing their own logs)", () => {
    const getRoutes = ROUTES.filter((r) => r.method === 'GET');
    expect(getRoutes.length).toBeGreaterThan(0);
    for (const route of getRoutes) {
      const functionId = t.functionIdOf(route);
      const ownLogGroup = refTarget(t.resources[functionId]!.Properties.LoggingConfig.LogGroup);
      const statements = t.roleStatements(functionId);
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
            arn(t.tableId()),
            ...(createTableInput('jobs').GlobalSecondaryIndexes ?? []).map(
              (index) => ({ 'Fn::Join': ['', [arn(t.tableId()), `/index/${index.IndexName}`]] }) as never,
            ),
          ],
          mainQueue: queue(t.mainQueueId()),
          deadLetterQueue: queue(t.deadLetterQueueId()),
          taskQueue: queue(t.taskQueueId()),
          workerMappingArn: t.workerMappingArn() as never,
        }).map((st) => st.toStatementJson() as Statement),
      );
    const actualGrants = (functionId: string) =>
      grantsOf(t.roleStatements(functionId).filter((st) => !actionsOf(st).some((a) => a.startsWith('logs:'))));
    const checked: [string, string, Permissions, string | undefined][] = [
      ...ROUTES.map((r): [string, string, Permissions, undefined] => [routeKey(r), t.functionIdOf(r), r.permissions, undefined]),
      ['reconciler', t.reconcilerFunctionId(), RECONCILER.permissions, undefined],
      ['worker', t.workerFunctionId(), WORKER.permissions, t.mainQueueId()],
      ['task runner', t.taskRunnerFunctionId(), TASK_RUNNER.permissions, t.taskQueueId()],
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
      const grants = grantsOf(t.roleStatements(t.functionIdOf(route)));
      for (const needed of [
        `dynamodb:UpdateItem on ${t.tableId()}`,
        `sqs:SendMessage on ${t.mainQueueId()}`,
        `sqs:ReceiveMessage on ${t.deadLetterQueueId()}`,
        `sqs:DeleteMessage on ${t.deadLetterQueueId()}`,
      ]) {
        expect(grants).toContain(needed);
      }
      expect(grants).not.toContain(`sqs:SendMessage on ${t.deadLetterQueueId()}`);
    }
  });

  it("lets the worker consume and send on the main queue and send to the DLQ, but not consume from it", () => {
    const grants = grantsOf(t.roleStatements(t.workerFunctionId()));
    for (const needed of [
      `dynamodb:UpdateItem on ${t.tableId()}`,
      `sqs:ReceiveMessage on ${t.mainQueueId()}`,
      `sqs:DeleteMessage on ${t.mainQueueId()}`,
      `sqs:ChangeMessageVisibility on ${t.mainQueueId()}`,
      `sqs:SendMessage on ${t.mainQueueId()}`,
      `sqs:SendMessage on ${t.deadLetterQueueId()}`,
    ]) {
      expect(grants).toContain(needed);
    }
    expect(grants).not.toContain(`sqs:ReceiveMessage on ${t.deadLetterQueueId()}`);
  });

  it('lets only the functions that create items put them, and only those that remove jobs delete one', () => {
    const holders = (action: string) =>
      [
        ...ROUTES.map((r) => [routeKey(r), t.functionIdOf(r)] as const),
        ['worker', t.workerFunctionId()] as const,
        ['task runner', t.taskRunnerFunctionId()] as const,
        ['reconciler', t.reconcilerFunctionId()] as const,
      ]
        .filter(([, id]) => grantsOf(t.roleStatements(id)).has(`${action} on ${t.tableId()}`))
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
  const functionsOf = (routeKeys: string[]) => routeKeys.map((key) => t.functionIdOf(ROUTES.find((r) => routeKey(r) === key)!)).sort();
  const switchRoutes = ['POST /jobs/pause', 'POST /jobs/resume'];

  it("lets only the pause and resume functions switch the worker's event source mapping, and them and the metrics read it, on that mapping alone", () => {
    const holders = new Map<string, Set<string>>();
    const resourcesOf: string[][] = [];
    for (const [functionId] of t.ofType('AWS::Lambda::Function')) {
      for (const statement of t.roleStatements(functionId)) {
        const lambdaActions = actionsOf(statement).filter((action) => action.startsWith('lambda:'));
        if (lambdaActions.length === 0) continue;
        resourcesOf.push(resourceIds(statement));
        for (const action of lambdaActions) holders.set(action, new Set([...(holders.get(action) ?? []), functionId]));
      }
    }
    expect([...holders.keys()].sort()).toEqual(['lambda:GetEventSourceMapping', 'lambda:UpdateEventSourceMapping']);
    expect([...holders.get('lambda:UpdateEventSourceMapping')!].sort()).toEqual(functionsOf(switchRoutes));
    expect([...holders.get('lambda:GetEventSourceMapping')!].sort()).toEqual(functionsOf([...switchRoutes, 'GET /jobs/metrics']));
    const mapping = `arn:AWS::Partition:lambda:AWS::Region:AWS::AccountId:event-source-mapping:${t.workerMappingId()}`;
    expect(resourcesOf).toEqual(resourcesOf.map(() => [mapping]));
    // no other statement names the mapping, nor any other mapping or function
    for (const { statement } of allStatements(t.template)) {
      if (!actionsOf(statement).some((action) => action.startsWith('lambda:'))) continue;
      expect(resourceIds(statement)).toEqual([mapping]);
    }
  });

  it("tells those three functions, and no other, the mapping's UUID", () => {
    const told = t.ofType('AWS::Lambda::Function')
      .filter(([, fn]) => fn.Properties.Environment.Variables.REQUEUE_WORKER_MAPPING_UUID !== undefined)
      .map(([id, fn]) => {
        expect(fn.Properties.Environment.Variables.REQUEUE_WORKER_MAPPING_UUID).toEqual({ Ref: t.workerMappingId() });
        return id;
      });
    expect(told.sort()).toEqual(functionsOf([...switchRoutes, 'GET /jobs/metrics']));
  });
});
