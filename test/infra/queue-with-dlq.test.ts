import { Match } from 'aws-cdk-lib/assertions';
import { QUEUE_SETTINGS } from '../../lambda/adapters/settings';
import { stackTemplate, type StackTemplate } from './stack-template';
import { synthRequeue } from './synth-stack';

let t: StackTemplate;

beforeAll(() => {
  t = stackTemplate(synthRequeue({}, { bundle: false }));
});

describe('queues with their DLQ (infra/queue-with-dlq.ts)', () => {
  it('keeps dead-lettered messages 14 days', () => {
    t.template.hasResourceProperties('AWS::SQS::Queue', {
      MessageRetentionPeriod: 1209600,
      RedrivePolicy: Match.absent(),
    });
    expect(t.resources[t.deadLetterQueueId()]!.Properties.MessageRetentionPeriod).toBe(1209600);
    expect(QUEUE_SETTINGS.deadLetterRetentionSeconds).toBe(1209600);
  });

  it('redrives the main queue to the DLQ with an explicit maxReceiveCount from QUEUE_SETTINGS', () => {
    t.template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [t.deadLetterQueueId(), 'Arn'] },
        maxReceiveCount: QUEUE_SETTINGS.safetyNetMaxReceiveCount,
      },
    });
  });

  it("lets only the main queue use the DLQ as its dead-letter queue, naming it in the DLQ's RedriveAllowPolicy", () => {
    const name = t.resources[t.mainQueueId()]!.Properties.QueueName as string;
    expect(name).toBe('Requeue-jobs');
    expect(t.resources[t.deadLetterQueueId()]!.Properties.RedriveAllowPolicy).toEqual({
      redrivePermission: 'byQueue',
      sourceQueueArns: [
        { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':sqs:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:${name}`]] },
      ],
    });
  });

  it("hides a received message for at least six times its consumer's timeout", () => {
    for (const queueId of [t.mainQueueId(), t.taskQueueId()]) {
      const timeout = t.resources[t.consumerOf(queueId)]!.Properties.Timeout as number;
      expect(t.resources[queueId]!.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * timeout);
    }
  });

  it('gives the tasks queue a dead-letter queue of its own, apart from the jobs\' one', () => {
    expect(t.taskDeadLetterQueueId()).not.toBe(t.deadLetterQueueId());
    expect(t.resources[t.taskQueueId()]!.Properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [t.taskDeadLetterQueueId(), 'Arn'] },
      maxReceiveCount: expect.any(Number),
    });
  });

  it('encrypts every queue and refuses requests not made over TLS', () => {
    const queueIds = t.ofType('AWS::SQS::Queue').map(([id]) => id);
    expect(queueIds).toHaveLength(4);
    for (const queueId of queueIds) {
      expect(t.resources[queueId]!.Properties.SqsManagedSseEnabled).toBe(true);
      t.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
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
