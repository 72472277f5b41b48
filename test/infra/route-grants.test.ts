import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../infra/project-root';
import { QUEUE_ACTIONS, TABLE_ACTIONS, WORKER_SWITCH_ACTIONS } from '../../infra/route-grants';

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
