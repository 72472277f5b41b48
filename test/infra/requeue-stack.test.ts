import { Duration } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readConfig } from '../../lambda/adapters/config';
import { RECONCILER, ROUTES, TASK_RUNNER, WORKER } from '../../lambda/routes';
import { functionEnvironment } from '../../infra/requeue-stack';
import { stackTemplate, type StackTemplate } from './stack-template';
import { synthRequeue } from './synth-stack';

let t: StackTemplate;

beforeAll(() => {
  t = stackTemplate(synthRequeue({}, { bundle: false }));
});

describe('the stack (infra/requeue-stack.ts)', () => {
  it('has one function per route, the worker, the retry-task runner, the reconciler and the job changes counter', () => {
    t.template.resourceCountIs('AWS::Lambda::Function', ROUTES.length + 4);
    expect(t.resources[t.workerFunctionId()]!.Properties.Description).toBe(WORKER.description);
    expect(t.resources[t.taskRunnerFunctionId()]!.Properties.Description).toBe(TASK_RUNNER.description);
    expect(t.resources[t.reconcilerFunctionId()]!.Properties.Description).toBe(RECONCILER.description);
  });

  it('gives every function the settings lambda/adapters/config.ts reads at cold start', () => {
    const visibility = String(t.resources[t.mainQueueId()]!.Properties.VisibilityTimeout);
    for (const [, fn] of t.ofType('AWS::Lambda::Function')) {
      const env = fn.Properties.Environment.Variables;
      expect(env).toMatchObject({
        POWERTOOLS_SERVICE_NAME: 'requeue',
        REQUEUE_TABLE_NAME: { Ref: t.tableId() },
        REQUEUE_QUEUE_URL: { Ref: t.mainQueueId() },
        REQUEUE_DLQ_URL: { Ref: t.deadLetterQueueId() },
        REQUEUE_TASK_QUEUE_URL: { Ref: t.taskQueueId() },
        REQUEUE_VISIBILITY_TIMEOUT: visibility,
      });
      const resolved = Object.fromEntries(
        Object.entries(env).map(([k, v]) => [k, typeof v === 'string' ? v : `deployed-${k}`]),
      );
      expect(readConfig(resolved).visibilityTimeoutMs).toBe(Number(visibility) * 1000);
    }
  });
});

describe('outputs', () => {
  it('outputs the API URL, the queue URLs and the table name', () => {
    t.template.hasOutput('ApiUrl', { Value: Match.anyValue() });
    t.template.hasOutput('QueueUrl', { Value: { Ref: t.mainQueueId() } });
    t.template.hasOutput('TaskQueueUrl', { Value: { Ref: t.taskQueueId() } });
    t.template.hasOutput('DeadLetterQueueUrl', { Value: { Ref: t.deadLetterQueueId() } });
    t.template.hasOutput('TableName', { Value: { Ref: t.tableId() } });
  });

  it("outputs both queues' ARNs and the redrive command that moves the DLQ's messages to the main queue", () => {
    t.template.hasOutput('QueueArn', { Value: { 'Fn::GetAtt': [t.mainQueueId(), 'Arn'] } });
    t.template.hasOutput('DeadLetterQueueArn', { Value: { 'Fn::GetAtt': [t.deadLetterQueueId(), 'Arn'] } });
    t.template.hasOutput('RedriveCommand', {
      Value: {
        'Fn::Join': [
          '',
          [
            'aws sqs start-message-move-task --source-arn ',
            { 'Fn::GetAtt': [t.deadLetterQueueId(), 'Arn'] },
            ' --destination-arn ',
            { 'Fn::GetAtt': [t.mainQueueId(), 'Arn'] },
          ],
        ],
      },
    });
  });
});

describe('cdk-nag AwsSolutions', () => {
  it('reports no unacknowledged error or warning', () => {
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(t.synthesized.app);
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
