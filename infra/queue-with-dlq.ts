import { Duration, Stack } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { QUEUE_SETTINGS } from '../lambda/adapters/settings';

export interface QueueWithDlqProps {
  /**
   * How long a received message stays hidden from other consumers. Keep it at
   * least six times the consuming function's timeout, as Lambda advises for
   * SQS event sources.
   */
  readonly visibilityTimeout: Duration;
  /** Receives after which SQS itself moves a message to the dead-letter queue. */
  readonly maxReceiveCount: number;
  /**
   * @default 14 days (QUEUE_SETTINGS.deadLetterRetentionSeconds)
   */
  readonly deadLetterRetention?: Duration;
  /**
   * Retention counts from a message's first send, and a delayed job's
   * message waits in the queue for the whole delay.
   * @default 14 days, the most SQS allows (QUEUE_SETTINGS.retentionSeconds)
   */
  readonly retentionPeriod?: Duration;
  /**
   * The queue's name. With a name the queue's ARN is known before either queue
   * exists, so the dead-letter queue's RedriveAllowPolicy can name it: the
   * queue already names the dead-letter queue in its RedrivePolicy, and two
   * references between the queues would be a cycle CloudFormation refuses.
   * @default - a name CloudFormation generates, and a dead-letter queue that any queue may use
   */
  readonly queueName?: string;
}

/**
 * A queue and its dead-letter queue, both encrypted at rest with SQS-managed
 * keys and refusing any request not made over TLS.
 */
export class QueueWithDlq extends Construct {
  public readonly queue: sqs.Queue;
  public readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: QueueWithDlqProps) {
    super(scope, id);

    const sourceQueueArn =
      props.queueName === undefined
        ? undefined
        : Stack.of(this).formatArn({ service: 'sqs', resource: props.queueName });
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      retentionPeriod: props.deadLetterRetention ?? Duration.seconds(QUEUE_SETTINGS.deadLetterRetentionSeconds),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      redriveAllowPolicy: sourceQueueArn
        ? {
            redrivePermission: sqs.RedrivePermission.BY_QUEUE,
            sourceQueues: [sqs.Queue.fromQueueArn(this, 'Source', sourceQueueArn)],
          }
        : undefined,
    });

    this.queue = new sqs.Queue(this, 'Queue', {
      queueName: props.queueName,
      visibilityTimeout: props.visibilityTimeout,
      retentionPeriod: props.retentionPeriod ?? Duration.seconds(QUEUE_SETTINGS.retentionSeconds),
      receiveMessageWaitTime: Duration.seconds(QUEUE_SETTINGS.receiveWaitSeconds),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: {
        queue: this.deadLetterQueue,
        maxReceiveCount: props.maxReceiveCount,
      },
    });
  }
}
