import { Duration } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { JOB_CHANGES_COUNTER, ROUTES } from '../../lambda/routes';
import { LONGEST_HEALTHY_MESSAGE_AGE, STREAM_BEHIND } from '../../infra/requeue-alarms';
import { stackTemplate, type StackTemplate } from './stack-template';
import { refTarget, synthRequeue, type Synthesized } from './synth-stack';

type Resource = { Type: string; Properties: Record<string, any> };

// one synth with the alarm email, one without, neither bundled: only alarms and topics are looked at
let withEmail: Synthesized;
let without: Synthesized;
let t: StackTemplate;
beforeAll(() => {
  withEmail = synthRequeue({ alarmEmail: 'ops@example.com' }, { bundle: false });
  without = synthRequeue({}, { bundle: false });
  t = stackTemplate(without);
});

const alarms = (template: Template): Resource[] =>
  Object.values(template.toJSON().Resources as Record<string, Resource>).filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
const idOf = (s: Synthesized, construct: { node: { defaultChild?: unknown } }) =>
  s.stack.getLogicalId(construct.node.defaultChild as never);

describe('alarms (infra/requeue-alarms.ts)', () => {
  it('alarms on any message in either dead-letter queue', () => {
    for (const dlq of [without.stack.queues.deadLetterQueue, without.stack.taskQueues.deadLetterQueue]) {
      without.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [idOf(without, dlq), 'QueueName'] } }],
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 0,
      });
    }
  });

  it("alarms when the main queue's oldest message is older than any healthy delayed job's", () => {
    without.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [idOf(without, without.stack.queues.queue), 'QueueName'] } }],
      Statistic: 'Maximum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: LONGEST_HEALTHY_MESSAGE_AGE.toSeconds(),
    });
    // SQS's longest delay, two 12-hour hides before the third receive drops the message from the metric
    expect(LONGEST_HEALTHY_MESSAGE_AGE.toSeconds()).toBeGreaterThan(Duration.minutes(15 + 24 * 60).toSeconds());
  });

  it('alarms on errors of every function: each route, the worker, the retry-task runner, the reconciler and the job changes counter', () => {
    const functionIds = Object.entries(without.template.toJSON().Resources as Record<string, Resource>)
      .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
      .map(([id]) => id)
      .sort();
    expect(functionIds).toHaveLength(ROUTES.length + 4);
    const watched = alarms(without.template)
      .filter((a) => a.Properties.Namespace === 'AWS/Lambda' && a.Properties.MetricName === 'Errors')
      .map((a) => {
        expect(a.Properties).toMatchObject({ Statistic: 'Sum', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
        return refTarget(a.Properties.Dimensions[0].Value)!;
      })
      .sort();
    expect(watched).toEqual(functionIds);
  });

  it("alarms when the table stream's reader falls minutes behind: the counts lag the jobs", () => {
    without.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'IteratorAge',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: idOf(without, without.stack.jobChangesCounter.function) } }],
      Statistic: 'Maximum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: STREAM_BEHIND.toMilliseconds(),
    });
    // well past the batching window the counts lag by anyway
    expect(STREAM_BEHIND.toSeconds()).toBeGreaterThan(10 * JOB_CHANGES_COUNTER.maxBatchingWindowSeconds);
  });

  it("alarms on the HTTP API's 5xx answers", () => {
    without.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/ApiGateway',
      MetricName: '5xx',
      Dimensions: [{ Name: 'ApiId', Value: { Ref: idOf(without, without.stack.httpApi!) } }],
      Statistic: 'Sum',
      Threshold: 0,
    });
  });

  it('alarms on DynamoDB throttling of any operation the functions call on the job table', () => {
    const [throttled] = alarms(without.template).filter((a) => a.Properties.Metrics);
    const metrics = throttled!.Properties.Metrics as { MetricStat?: { Metric: Record<string, any> } }[];
    const operations = metrics
      .filter((m) => m.MetricStat)
      .map((m) => {
        expect(m.MetricStat!.Metric).toMatchObject({ Namespace: 'AWS/DynamoDB', MetricName: 'ThrottledRequests' });
        const dims = m.MetricStat!.Metric.Dimensions as { Name: string; Value: unknown }[];
        expect(dims).toContainEqual({ Name: 'TableName', Value: { Ref: idOf(without, without.stack.jobTable.table) } });
        return dims.find((d) => d.Name === 'Operation')!.Value;
      });
    expect(operations.sort()).toEqual(['BatchGetItem', 'DeleteItem', 'GetItem', 'PutItem', 'Query', 'UpdateItem']);
    expect(throttled!.Properties).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
  });

  it('treats missing data as fine: an idle queue or function is not an alarm', () => {
    expect(alarms(without.template).length).toBe(6 + ROUTES.length + 4);
    for (const alarm of alarms(without.template)) expect(alarm.Properties.TreatMissingData).toBe('notBreaching');
  });

  it('has no SNS topic and no alarm action unless an alarm email is given', () => {
    without.template.resourceCountIs('AWS::SNS::Topic', 0);
    for (const alarm of alarms(without.template)) expect(alarm.Properties.AlarmActions).toBeUndefined();
  });

  it('with -c alarmEmail, subscribes the address to a TLS-only topic that every alarm notifies, on alarm and on OK', () => {
    const topicId = idOf(withEmail, withEmail.stack.alarms.topic!);
    withEmail.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
      TopicArn: { Ref: topicId },
    });
    withEmail.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topicId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    expect(alarms(withEmail.template)).toHaveLength(alarms(without.template).length);
    for (const alarm of alarms(withEmail.template)) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(alarm.Properties.OKActions).toEqual([{ Ref: topicId }]);
    }
    withEmail.template.hasOutput('AlarmTopicArn', { Value: { Ref: topicId } });
  });

  it('refuses an alarm email that is not an address', () => {
    expect(() => synthRequeue({ alarmEmail: 'ops at example' }, { bundle: false })).toThrow(/alarmEmail must be an email address/);
  });

  it('keeps cdk-nag AwsSolutions clean with the topic', () => {
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(withEmail.app);
    expect(report.violations.map((v) => `${v.severity} ${v.ruleName}`)).toEqual([]);
  });

  it('alarms when the DLQ holds any message', () => {
    t.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [t.deadLetterQueueId(), 'QueueName'] } }],
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
    });
  });

  it('alarms on worker errors', () => {
    t.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: t.workerFunctionId() } }],
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
    });
  });
});
