import { JOB_TABLE, createTableInput } from '../../lambda/adapters/table-schema';
import { stackTemplate, type StackTemplate } from './stack-template';
import { synthRequeue } from './synth-stack';

let t: StackTemplate;

beforeAll(() => {
  t = stackTemplate(synthRequeue({}, { bundle: false }));
});

describe('the job table (infra/job-table.ts)', () => {
  it('is on-demand, with point-in-time recovery and the TTL attribute', () => {
    t.template.resourceCountIs('AWS::DynamoDB::Table', 1);
    t.template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: JOB_TABLE.timeToLiveAttribute, Enabled: true },
    });
  });

  it('has the same keys, attribute types and indexes as the table the local runtime creates', () => {
    const local = createTableInput('jobs');
    const table = t.resources[t.tableId()]!.Properties;
    expect(table.KeySchema).toEqual(local.KeySchema);
    const byName = <T extends { AttributeName?: string; IndexName?: string }>(a: T, b: T) =>
      String(a.AttributeName ?? a.IndexName).localeCompare(String(b.AttributeName ?? b.IndexName));
    expect([...table.AttributeDefinitions].sort(byName)).toEqual([...local.AttributeDefinitions!].sort(byName));
    expect([...table.GlobalSecondaryIndexes].sort(byName)).toEqual([...local.GlobalSecondaryIndexes!].sort(byName));
    expect(table.GlobalSecondaryIndexes.map((i: { IndexName: string }) => i.IndexName)).toContain(JOB_TABLE.stateIndex.name);
  });

  it('refuses deletion, by the stack or by anyone, while deletion protection is on', () => {
    expect(t.resources[t.tableId()]!.Properties.DeletionProtectionEnabled).toBe(true);
  });

  it('is kept when the stack is deleted: it is the source of truth', () => {
    t.template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });
});
