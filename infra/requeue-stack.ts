import { CfnOutput, Duration, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer, HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { QUEUE_SETTINGS } from '../lambda/adapters/queue-settings';
import { EXPIRY_COUNTER, RECONCILER, ROUTES, TASK_RUNNER, WORKER, type Route } from '../lambda/routes';
import { QueueWithDlq } from './queue-with-dlq';
import { JobTable } from './job-table';
import { RequeueFunction } from './requeue-function';
import { grantPermissions } from './route-grants';

/** Callers present a JWT from this issuer instead of signing requests with SigV4. */
export interface JwtAuthOptions {
  /** The issuer URL, e.g. `https://cognito-idp.<region>.amazonaws.com/<pool id>`. */
  readonly issuer: string;
  /** Accepted `aud` (or `client_id`) values; at least one. */
  readonly audience: readonly string[];
}

export interface RequeueStackProps extends StackProps {
  /**
   * How callers authorize. Every route requires one or the other.
   * @default - IAM: requests signed with SigV4 by a principal allowed execute-api:Invoke
   */
  readonly jwt?: JwtAuthOptions;
  /**
   * The worker's timeout, which bounds one batch of jobs (they run concurrently).
   * The main queue's visibility timeout is six times this.
   * @default Duration.minutes(5)
   */
  readonly workerTimeout?: Duration;
  /**
   * Worker invocations the event source may run at once.
   * @default 10
   */
  readonly workerMaxConcurrency?: number;
  /**
   * How long the event source may gather messages before it invokes the worker.
   * @default Duration.seconds(1)
   */
  readonly workerBatchingWindow?: Duration;
  /**
   * Timeout of the HTTP route functions. API Gateway gives up at 30 seconds.
   * @default Duration.seconds(29)
   */
  readonly routeTimeout?: Duration;
  /**
   * How long finished jobs stay in the table.
   * @default - the functions' own default (7 days, lambda/adapters/config.ts)
   */
  readonly jobRetention?: Duration;
}

const TASK_RUNNER_TIMEOUT = Duration.seconds(TASK_RUNNER.timeoutSeconds);

/** What every function reads at cold start (lambda/adapters/config.ts). */
export interface FunctionSettings {
  readonly tableName: string;
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
  readonly taskQueueUrl: string;
  /** The main queue's visibility timeout. */
  readonly visibilityTimeout: Duration;
  readonly jobRetention?: Duration;
}

/** The environment of every function; bench/bundles.ts imports the handlers with it too. */
export const functionEnvironment = (settings: FunctionSettings): Record<string, string> => ({
  REQUEUE_TABLE_NAME: settings.tableName,
  REQUEUE_QUEUE_URL: settings.queueUrl,
  REQUEUE_DLQ_URL: settings.deadLetterQueueUrl,
  REQUEUE_TASK_QUEUE_URL: settings.taskQueueUrl,
  REQUEUE_VISIBILITY_TIMEOUT: String(settings.visibilityTimeout.toSeconds()),
  ...(settings.jobRetention ? { REQUEUE_RETENTION_DAYS: String(settings.jobRetention.toDays()) } : {}),
});

/** `retry-all-failed` → `RetryAllFailed`: a stable logical id per handler. */
const constructId = (handler: string): string =>
  handler
    .split('-')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');

/**
 * requeue on AWS: the HTTP API whose routes come from lambda/routes.ts, one
 * function per route, the worker, the retry-task runner, the scheduled
 * reconciler and the counter of expired jobs, the main queue with its dead-letter queue, the tasks queue, the
 * job table, and alarms for what needs a person.
 */
export class RequeueStack extends Stack {
  public readonly api: apigw.HttpApi;
  public readonly routeFunctions: ReadonlyMap<Route, RequeueFunction>;
  public readonly worker: RequeueFunction;
  public readonly reconciler: RequeueFunction;
  public readonly taskRunner: RequeueFunction;
  /** Takes the jobs TTL deletes out of the counts, fed by the table's stream. */
  public readonly expiryCounter: RequeueFunction;
  /** The main queue and its dead-letter queue. */
  public readonly queues: QueueWithDlq;
  /** The queue that wakes the retry-task runner, and its dead-letter queue. */
  public readonly taskQueues: QueueWithDlq;
  public readonly jobTable: JobTable;

  constructor(scope: Construct, id: string, props: RequeueStackProps = {}) {
    super(scope, id, props);

    const workerTimeout = props.workerTimeout ?? Duration.minutes(5);
    const visibilityTimeout = Duration.seconds(workerTimeout.toSeconds() * 6);

    this.jobTable = new JobTable(this, 'Jobs');
    this.queues = new QueueWithDlq(this, 'Queues', {
      visibilityTimeout,
      maxReceiveCount: QUEUE_SETTINGS.safetyNetMaxReceiveCount,
    });
    this.taskQueues = new QueueWithDlq(this, 'TaskQueues', {
      visibilityTimeout: Duration.seconds(TASK_RUNNER_TIMEOUT.toSeconds() * 6),
      // A chunk that fails this often in a row is set aside; its task's lease
      // runs out and the reconciler resumes it with a fresh message.
      maxReceiveCount: 5,
    });
    const grantTargets = {
      tableArns: this.jobTable.resourceArns,
      mainQueue: this.queues.queue,
      deadLetterQueue: this.queues.deadLetterQueue,
      taskQueue: this.taskQueues.queue,
    };
    const environment = functionEnvironment({
      tableName: this.jobTable.table.tableName,
      queueUrl: this.queues.queue.queueUrl,
      deadLetterQueueUrl: this.queues.deadLetterQueue.queueUrl,
      taskQueueUrl: this.taskQueues.queue.queueUrl,
      visibilityTimeout,
      jobRetention: props.jobRetention,
    });

    this.worker = new RequeueFunction(this, constructId(WORKER.handler), {
      handler: WORKER.handler,
      description: WORKER.description,
      // a job's default time limit: the worker's own, less time to record the outcome
      environment: { ...environment, REQUEUE_JOB_TIMEOUT_MS: String(Math.max(1, workerTimeout.toSeconds() - 10) * 1000) },
      timeout: workerTimeout,
    });
    grantPermissions(this.worker.function, WORKER.permissions, grantTargets);
    this.worker.function.addEventSource(
      new SqsEventSource(this.queues.queue, {
        batchSize: QUEUE_SETTINGS.batchSize,
        maxBatchingWindow: props.workerBatchingWindow ?? Duration.seconds(1),
        maxConcurrency: props.workerMaxConcurrency ?? 10,
        reportBatchItemFailures: true,
      }),
    );

    this.taskRunner = new RequeueFunction(this, constructId(TASK_RUNNER.handler), {
      handler: TASK_RUNNER.handler,
      description: TASK_RUNNER.description,
      environment,
      timeout: TASK_RUNNER_TIMEOUT,
    });
    grantPermissions(this.taskRunner.function, TASK_RUNNER.permissions, grantTargets);
    this.taskRunner.function.addEventSource(
      new SqsEventSource(this.taskQueues.queue, {
        // one chunk per invocation: each gets the whole time budget
        batchSize: 1,
        maxConcurrency: 2,
        reportBatchItemFailures: true,
      }),
    );

    this.reconciler = new RequeueFunction(this, constructId(RECONCILER.handler), {
      handler: RECONCILER.handler,
      description: RECONCILER.description,
      environment,
      timeout: Duration.seconds(RECONCILER.timeoutSeconds),
    });
    grantPermissions(this.reconciler.function, RECONCILER.permissions, grantTargets);
    // a missed or failed run is made up by the next one, a minute later: no retries
    this.reconciler.function.configureAsyncInvoke({ retryAttempts: 0 });
    new events.Rule(this, 'ReconcileSchedule', {
      description: RECONCILER.description,
      schedule: events.Schedule.expression(RECONCILER.schedule),
      targets: [new targets.LambdaFunction(this.reconciler.function, { retryAttempts: 0 })],
    });

    this.expiryCounter = new RequeueFunction(this, constructId(EXPIRY_COUNTER.handler), {
      handler: EXPIRY_COUNTER.handler,
      description: EXPIRY_COUNTER.description,
      environment,
      timeout: Duration.seconds(EXPIRY_COUNTER.timeoutSeconds),
    });
    grantPermissions(this.expiryCounter.function, EXPIRY_COUNTER.permissions, grantTargets);
    this.expiryCounter.function.addEventSource(
      new DynamoEventSource(this.jobTable.table, {
        // every expiry still in the stream (it keeps 24 hours) is counted, also those before a deployment
        startingPosition: lambda.StartingPosition.TRIM_HORIZON,
        batchSize: EXPIRY_COUNTER.batchSize,
        // a batch is one counter write: gather TTL's deletes for a while rather than invoke per item
        maxBatchingWindow: Duration.seconds(10),
        filters: [{ pattern: JSON.stringify(EXPIRY_COUNTER.filter) }],
        // a failed counter write changes nothing: the batch is tried again until the stream lets it go
        retryAttempts: -1,
      }),
    );
    Validations.of(this.expiryCounter.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'dynamodb:ListStreams, which a stream event source needs, supports no resource-level permissions: it can ' +
        'only be granted on * (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html). ' +
        'It lists stream ARNs only; reading a stream is granted on this table\'s stream alone.',
    });

    // who called what: kept (for its retention) even after the stack is deleted
    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.api = new apigw.HttpApi(this, 'Api', {
      apiName: 'requeue',
      description: 'requeue: enqueue jobs, inspect and retry failed ones',
      createDefaultStage: false,
      defaultAuthorizer: props.jwt
        ? new HttpJwtAuthorizer('JwtAuthorizer', props.jwt.issuer, { jwtAudience: [...props.jwt.audience] })
        : new HttpIamAuthorizer(),
    });
    const stage = new apigw.HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      accessLogSettings: { destination: new apigw.LogGroupLogDestination(accessLogs) },
    });

    const routeFunctions = new Map<Route, RequeueFunction>();
    for (const route of ROUTES) {
      const fn = new RequeueFunction(this, constructId(route.handler), {
        handler: route.handler,
        description: route.description,
        environment,
        timeout: props.routeTimeout ?? Duration.seconds(29),
      });
      grantPermissions(fn.function, route.permissions, grantTargets);
      this.api.addRoutes({
        path: route.path,
        methods: [apigw.HttpMethod[route.method]],
        integration: new HttpLambdaIntegration(`${constructId(route.handler)}Integration`, fn.function),
      });
      routeFunctions.set(route, fn);
    }
    this.routeFunctions = routeFunctions;

    new cloudwatch.Alarm(this, 'DeadLetterQueueNotEmpty', {
      alarmDescription:
        'Jobs are in the dead-letter queue: they failed for good. List them with GET /jobs/failed and retry once fixed.',
      metric: this.queues.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    // A failing job is a partial batch failure, not a function error: errors
    // here mean the worker itself crashed or timed out.
    new cloudwatch.Alarm(this, 'WorkerErrors', {
      alarmDescription: 'The worker function failed (crash or timeout), not just a job in it. See its log group.',
      metric: this.worker.function.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    new CfnOutput(this, 'ApiUrl', { value: stage.url, description: 'Base URL of the HTTP API' });
    new CfnOutput(this, 'QueueUrl', { value: this.queues.queue.queueUrl });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.queues.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'TaskQueueUrl', { value: this.taskQueues.queue.queueUrl });
    new CfnOutput(this, 'TableName', { value: this.jobTable.table.tableName });
  }
}
