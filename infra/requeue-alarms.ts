import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { QueueWithDlq } from './queue-with-dlq';
import { TABLE_ACTIONS } from './route-grants';

/**
 * The oldest message of a healthy main queue can be this old: a delayed job's
 * message is hidden at most 15 minutes by SQS's DelaySeconds, then up to 12
 * hours at each receive, and SQS leaves a message out of
 * ApproximateAgeOfOldestMessage once it has been received three times.
 */
export const LONGEST_HEALTHY_MESSAGE_AGE = Duration.minutes(15 + 2 * 12 * 60 + 45);

/** Counts may lag the jobs by the batching window; this much more means the stream's reader is stuck. */
export const STREAM_BEHIND = Duration.minutes(5);

export interface WatchedFunction {
  /** Construct id of the function's alarm, without the `Errors` suffix. */
  readonly id: string;
  readonly function: lambda.IFunction;
  /** What an error of this function means, and where to look. */
  readonly description: string;
}

export interface RequeueAlarmsProps {
  /** The main queue and its dead-letter queue. */
  readonly queues: QueueWithDlq;
  /** The tasks queue and its dead-letter queue. */
  readonly taskQueues: QueueWithDlq;
  readonly functions: readonly WatchedFunction[];
  /** Requests the API answered with a 5xx status. */
  readonly apiServerErrors: cloudwatch.IMetric;
  readonly table: dynamodb.ITable;
  /** The function that reads the table's stream: its records must not wait long. */
  readonly streamReader: lambda.IFunction;
  /**
   * Alarm when the main queue's oldest message is older than this. Lower it
   * when no job of yours is delayed (opts.delay, backoff) that long.
   * @default LONGEST_HEALTHY_MESSAGE_AGE (25 hours): no delayed job of a healthy queue raises it
   */
  readonly oldestMessageAge?: Duration;
  /**
   * Subscribe this address to an SNS topic that every alarm notifies, when
   * it goes off and when it is over.
   * @default - no topic: the alarms show in the CloudWatch console only
   */
  readonly email?: string;
}

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/**
 * The alarms that need a person: jobs that failed for good, a main queue that
 * is not drained, retry-task chunks set aside, any function failing (not a
 * job in it), API 5xx answers, DynamoDB throttling, and a table stream whose
 * reader fell behind. Each evaluates once,
 * over a short period, and treats missing data (nothing happened) as fine.
 */
export class RequeueAlarms extends Construct {
  public readonly deadLetterQueueNotEmpty: cloudwatch.Alarm;
  public readonly oldestMessageTooOld: cloudwatch.Alarm;
  public readonly taskDeadLetterQueueNotEmpty: cloudwatch.Alarm;
  public readonly apiServerErrors: cloudwatch.Alarm;
  public readonly tableThrottled: cloudwatch.Alarm;
  public readonly streamBehind: cloudwatch.Alarm;
  /** One alarm per watched function, by its id. */
  public readonly functionErrors: ReadonlyMap<string, cloudwatch.Alarm>;
  /** Notified by every alarm, when an email address was given. */
  public readonly topic?: sns.Topic;

  constructor(scope: Construct, id: string, props: RequeueAlarmsProps) {
    super(scope, id);
    const period = Duration.minutes(5);
    const above = (alarmId: string, description: string, metric: cloudwatch.IMetric, threshold = 0) =>
      new cloudwatch.Alarm(this, alarmId, {
        alarmDescription: description,
        metric,
        threshold,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });

    this.deadLetterQueueNotEmpty = above(
      'DeadLetterQueueNotEmpty',
      'Jobs are in the dead-letter queue: they failed for good. List them with GET /jobs/failed and retry once fixed.',
      props.queues.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
    );
    const oldestMessageAge = props.oldestMessageAge ?? LONGEST_HEALTHY_MESSAGE_AGE;
    this.oldestMessageTooOld = above(
      'OldestMessageTooOld',
      `A message has waited in the main queue longer than ${oldestMessageAge.toHumanString()}: the worker is not ` +
        'draining it (throttled, failing, or its event source disabled). See the WorkerErrors alarm and its log group.',
      props.queues.queue.metricApproximateAgeOfOldestMessage({ period, statistic: cloudwatch.Stats.MAXIMUM }),
      oldestMessageAge.toSeconds(),
    );
    this.taskDeadLetterQueueNotEmpty = above(
      'TaskDeadLetterQueueNotEmpty',
      'A retry-task chunk failed five times in a row and was set aside; the reconciler resumes its task. ' +
        "See the retry-task runner's log group.",
      props.taskQueues.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
    );
    this.apiServerErrors = above(
      'ApiServerErrors',
      'The API answered 5xx: a dependency was unavailable (503) or a function failed. See the API access logs.',
      props.apiServerErrors,
    );
    this.tableThrottled = above(
      'TableThrottled',
      'DynamoDB throttled requests to the job table (a hot partition, or a burst above what on-demand has scaled to).',
      props.table.metricThrottledRequestsForOperations({
        // every operation a function of ours may call
        operations: [...new Set(Object.values(TABLE_ACTIONS).flat())].map(
          (action) => action.replace('dynamodb:', '') as dynamodb.Operation,
        ),
        period,
      }),
    );

    this.streamBehind = above(
      'StreamBehind',
      `The table stream's oldest unread change is older than ${STREAM_BEHIND.toHumanString()}: the counts in ` +
        'metrics lag behind the jobs (the counting function failing or throttled). The stream keeps changes 24 hours; ' +
        'see the JobChangesCounterErrors alarm and its log group.',
      props.streamReader.metric('IteratorAge', { period, statistic: cloudwatch.Stats.MAXIMUM }),
      STREAM_BEHIND.toMilliseconds(),
    );

    const functionErrors = new Map<string, cloudwatch.Alarm>();
    for (const watched of props.functions) {
      functionErrors.set(
        watched.id,
        above(
          `${watched.id}Errors`,
          watched.description,
          watched.function.metricErrors({ period, statistic: cloudwatch.Stats.SUM }),
        ),
      );
    }
    this.functionErrors = functionErrors;

    if (props.email !== undefined) {
      if (!EMAIL.test(props.email)) throw new Error(`alarmEmail must be an email address, not ${props.email}`);
      this.topic = new sns.Topic(this, 'Topic', { displayName: 'requeue alarms', enforceSSL: true });
      this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
      const action = new actions.SnsAction(this.topic);
      for (const alarm of this.all) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
    }
  }

  public get all(): cloudwatch.Alarm[] {
    return [
      this.deadLetterQueueNotEmpty,
      this.oldestMessageTooOld,
      this.taskDeadLetterQueueNotEmpty,
      this.apiServerErrors,
      this.tableThrottled,
      this.streamBehind,
      ...this.functionErrors.values(),
    ];
  }
}
