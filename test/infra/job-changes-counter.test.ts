import type { CfnElement } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { JOB_CHANGES_COUNTER } from '../../lambda/routes';
import { jobKey } from '../../lambda/adapters/dynamodb-job-item';
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
const functionId = () => synthesized.stack.getLogicalId(synthesized.stack.jobChangesCounter.function.node.defaultChild as CfnElement);

/** A stream record of a change of one item, as DynamoDB Streams delivers it. */
const change = (pk: string, sk = 'JOB', eventName = 'MODIFY', userIdentity?: { type: string; principalId: string }) => ({
  eventName,
  ...(userIdentity ? { userIdentity } : {}),
  dynamodb: { Keys: { [JOB_TABLE.partitionKey]: { S: pk }, [JOB_TABLE.sortKey]: { S: sk } } },
});
const TTL = { type: 'Service', principalId: 'dynamodb.amazonaws.com' };

describe('job changes counter', () => {
  it('streams both images of every change of the job table', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      TimeToLiveSpecification: { AttributeName: JOB_TABLE.timeToLiveAttribute, Enabled: true },
    });
  });

  it('is fed by the table stream, from its oldest record, in large batches gathered for a few seconds, retried until it succeeds', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: functionId() },
      EventSourceArn: { 'Fn::GetAtt': [tableId(), 'StreamArn'] },
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: JOB_CHANGES_COUNTER.batchSize,
      MaximumBatchingWindowInSeconds: JOB_CHANGES_COUNTER.maxBatchingWindowSeconds,
      MaximumRetryAttempts: -1,
      BisectBatchOnFunctionError: false,
      FilterCriteria: { Filters: [{ Pattern: JSON.stringify(JOB_CHANGES_COUNTER.filter) }] },
    });
    expect(JOB_CHANGES_COUNTER.batchSize).toBeGreaterThanOrEqual(1000);
    expect(JOB_CHANGES_COUNTER.maxBatchingWindowSeconds).toBeLessThanOrEqual(10);
    expect(template.toJSON().Resources[functionId()].Properties.Description).toBe(JOB_CHANGES_COUNTER.description);
  });

  it("lets through every change of a job's own item, and nothing else", () => {
    const { filter } = JOB_CHANGES_COUNTER;
    // the key prefix follows the store's job keys
    const pk = String(jobKey('a-job')[JOB_TABLE.partitionKey]);
    for (const eventName of ['INSERT', 'MODIFY', 'REMOVE']) expect(matchesPattern(change(pk, 'JOB', eventName), filter)).toBe(true);
    expect(matchesPattern(change(pk, 'JOB', 'REMOVE', TTL), filter)).toBe(true);
    // the counters' own writes, a task, a job's stack trace (under the job's pk)
    expect(matchesPattern(change('COUNTS#3', 'STATES'), filter)).toBe(false);
    expect(matchesPattern(change('THROUGHPUT#3', 'MINUTE#29000000'), filter)).toBe(false);
    expect(matchesPattern(change('DEAD_LETTERS', 'SWEPT'), filter)).toBe(false);
    expect(matchesPattern(change('TASK#t', 'TASK'), filter)).toBe(false);
    expect(matchesPattern(change(pk, 'STACK'), filter)).toBe(false);
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
