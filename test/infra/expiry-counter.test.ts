import type { CfnElement } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { EXPIRY_COUNTER } from '../../lambda/routes';
import { jobKey } from '../../lambda/adapters/dynamodb-job-store';
import { matchesPattern } from '../../lambda/adapters/dynamodb-job-stream';
import { JOB_TABLE } from '../../lambda/adapters/table-schema';
import { actionsOf, allStatements, refTarget, synthRequeue, type Synthesized } from './synth-stack';

let synthesized: Synthesized;
let template: Template;

beforeAll(() => {
  synthesized = synthRequeue({}, { bundle: false });
  template = synthesized.template;
});

const idOf = (construct: { node: { defaultChild?: unknown } }): string =>
  synthesized.stack.getLogicalId(construct.node.defaultChild as CfnElement);
const tableId = () => idOf(synthesized.stack.jobTable.table);
const functionId = () => synthesized.stack.getLogicalId(synthesized.stack.expiryCounter.function.node.defaultChild as CfnElement);

/** A stream record of a delete, as DynamoDB Streams delivers it. */
const removal = (pk: string, userIdentity?: { type: string; principalId: string }, sk = 'JOB') => ({
  eventName: 'REMOVE',
  ...(userIdentity ? { userIdentity } : {}),
  dynamodb: { Keys: { [JOB_TABLE.partitionKey]: { S: pk }, [JOB_TABLE.sortKey]: { S: sk } } },
});
const TTL = { type: 'Service', principalId: 'dynamodb.amazonaws.com' };

describe('expiry counter', () => {
  it('streams the old image of every item the job table deletes', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      StreamSpecification: { StreamViewType: 'OLD_IMAGE' },
      TimeToLiveSpecification: { AttributeName: JOB_TABLE.timeToLiveAttribute, Enabled: true },
    });
  });

  it('is fed by the table stream, from its oldest record, in batches, retried until it succeeds', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: functionId() },
      EventSourceArn: { 'Fn::GetAtt': [tableId(), 'StreamArn'] },
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: EXPIRY_COUNTER.batchSize,
      MaximumRetryAttempts: -1,
      FilterCriteria: { Filters: [{ Pattern: JSON.stringify(EXPIRY_COUNTER.filter) }] },
    });
    expect(template.toJSON().Resources[functionId()].Properties.Description).toBe(EXPIRY_COUNTER.description);
  });

  it("lets through TTL's deletes of jobs alone", () => {
    const { filter } = EXPIRY_COUNTER;
    // the key prefix follows the store's job keys
    expect(matchesPattern(removal(String(jobKey('a-job')[JOB_TABLE.partitionKey]), TTL), filter)).toBe(true);
    // a delete of ours (an enqueue undone), a task or throughput item expiring, a write
    expect(matchesPattern(removal('JOB#a-job'), filter)).toBe(false);
    expect(matchesPattern(removal('TASK#t', TTL), filter)).toBe(false);
    expect(matchesPattern(removal('THROUGHPUT#3', TTL), filter)).toBe(false);
    expect(matchesPattern({ ...removal('JOB#a-job', TTL), eventName: 'MODIFY' }, filter)).toBe(false);
    // a job's stack trace lives beside it under the same pk and expires on its own
    expect(matchesPattern(removal('JOB#a-job', TTL, 'STACK'), filter)).toBe(false);
  });

  it('may update the table (the counters) and read its stream, nothing else', () => {
    const roleId = refTarget(template.toJSON().Resources[functionId()].Properties.Role)!;
    const statements = allStatements(template)
      .filter(({ holder, type }) => type === 'AWS::IAM::Policy' && JSON.stringify(template.toJSON().Resources[holder]).includes(roleId))
      .map(({ statement }) => statement)
      .filter((statement) => !actionsOf(statement).some((action) => action.startsWith('logs:')));
    expect(statements.flatMap(actionsOf).sort()).toEqual(
      [
        'dynamodb:UpdateItem',
        'dynamodb:ListStreams',
        'dynamodb:DescribeStream',
        'dynamodb:GetRecords',
        'dynamodb:GetShardIterator',
      ].sort(),
    );
    const update = statements.find((statement) => actionsOf(statement).includes('dynamodb:UpdateItem'))!;
    expect(update.Resource).toEqual(expect.arrayContaining([{ 'Fn::GetAtt': [tableId(), 'Arn'] }]));
    const streamRead = statements.find((statement) => actionsOf(statement).includes('dynamodb:GetRecords'))!;
    expect(streamRead.Resource).toEqual({ 'Fn::GetAtt': [tableId(), 'StreamArn'] });
  });
});
