import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import {
  FUNCTION_ENV as ENV,
  QUEUE_SETTINGS,
  STACK_DEFAULTS,
  TASK_QUEUE_SETTINGS,
  VISIBILITY_PER_FUNCTION_TIMEOUT,
} from '../lambda/adapters/settings';
import { JOB_CHANGES_COUNTER, RECONCILER, ROUTES, TASK_RUNNER, WORKER, routeKey, type Route } from '../lambda/routes';
import { DEFAULT_API_THROTTLING, type ApiThrottling } from './api-throttling';
import { RequeueHttpApi } from './http-api';
import { JobChangesCounter } from './job-changes-counter';
import { JobTable } from './job-table';
import { QueueWithDlq } from './queue-with-dlq';
import { ReconcilerFunction } from './reconciler-function';
import { RequeueAlarms, type WatchedFunction } from './requeue-alarms';
import { RequeueFunction } from './requeue-function';
import { RequeueRestApi } from './rest-api';
import { grantPermissions, type GrantTargets } from './route-grants';
import { TaskRunnerFunction } from './task-runner-function';
import { WorkerFunction } from './worker-function';

/** Callers present a JWT from this issuer instead of signing requests with SigV4. */
export interface JwtAuthOptions {
  /** The issuer URL, e.g. `https://cognito-idp.<region>.amazonaws.com/<pool id>`. */
  readonly issuer: string;
  /**
   * Accepted `aud` (or `client_id`) values: at least one for the HTTP API,
   * none for the REST API, whose Cognito authorizer cannot check them.
   */
  readonly audience: readonly string[];
}

/**
 * `http`: an API Gateway HTTP API (payload format 2.0), the default on AWS.
 * `rest`: a REST API with Lambda proxy integrations (payload format 1.0),
 * which LocalStack's free plan also runs.
 */
export type ApiType = 'http' | 'rest';

export interface RequeueStackProps extends StackProps {
  /**
   * @default 'http'
   */
  readonly apiType?: ApiType;
  /**
   * How callers authorize. Every route requires one or the other.
   * @default - IAM: requests signed with SigV4 by a principal allowed execute-api:Invoke
   */
  readonly jwt?: JwtAuthOptions;
  /**
   * The worker's timeout, which bounds one batch of jobs (they run concurrently).
   * The main queue's visibility timeout is six times this (VISIBILITY_PER_FUNCTION_TIMEOUT).
   * @default Duration.minutes(5) (STACK_DEFAULTS.workerTimeoutSeconds, lambda/adapters/settings.ts)
   */
  readonly workerTimeout?: Duration;
  /**
   * Worker invocations the event source may run at once.
   * @default 10 (STACK_DEFAULTS.workerMaxConcurrency)
   */
  readonly workerMaxConcurrency?: number;
  /**
   * Concurrent executions reserved for the worker: it always has them, and
   * never takes more. At least workerMaxConcurrency, or the event source's
   * invocations are throttled; `false` reserves none, for accounts whose
   * concurrency quota (10 on new accounts) leaves nothing to reserve.
   * @default workerMaxConcurrency
   */
  readonly workerReservedConcurrency?: number | false;
  /**
   * How long the event source may gather messages before it invokes the worker.
   * @default Duration.seconds(1) (STACK_DEFAULTS.workerBatchingWindowSeconds)
   */
  readonly workerBatchingWindow?: Duration;
  /**
   * Timeout of the HTTP route functions. API Gateway gives up at 30 seconds.
   * @default Duration.seconds(29) (STACK_DEFAULTS.routeTimeoutSeconds)
   */
  readonly routeTimeout?: Duration;
  /**
   * How long finished jobs stay in the table.
   * @default - the functions' own default (7 days, DEFAULTS.retentionDays in lambda/adapters/settings.ts)
   */
  readonly jobRetention?: Duration;
  /**
   * How long failed jobs stay in the table.
   * @default - the functions' own default (30 days, DEFAULTS.failedRetentionDays in lambda/adapters/settings.ts)
   */
  readonly failedJobRetention?: Duration;
  /**
   * @default DEFAULT_API_THROTTLING
   */
  readonly apiThrottling?: ApiThrottling;
  /**
   * Email address subscribed to an SNS topic that every alarm notifies.
   * @default - no topic: alarms show in the CloudWatch console only
   */
  readonly alarmEmail?: string;
  /**
   * @default LONGEST_HEALTHY_MESSAGE_AGE (see requeue-alarms.ts)
   */
  readonly oldestMessageAlarmAge?: Duration;
}

/** What every function reads at cold start (lambda/adapters/config.ts). */
export interface FunctionSettings {
  readonly tableName: string;
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
  readonly taskQueueUrl: string;
  /** The main queue's visibility timeout. */
  readonly visibilityTimeout: Duration;
  readonly jobRetention?: Duration;
  readonly failedJobRetention?: Duration;
  /** The worker's event source mapping, for the functions that read or switch it. */
  readonly workerMappingUuid?: string;
}

/** The environment of every function; bench/bundles.ts imports the handlers with it too. */
export const functionEnvironment = (settings: FunctionSettings): Record<string, string> => ({
  [ENV.tableName]: settings.tableName,
  [ENV.queueUrl]: settings.queueUrl,
  [ENV.deadLetterQueueUrl]: settings.deadLetterQueueUrl,
  [ENV.taskQueueUrl]: settings.taskQueueUrl,
  [ENV.visibilityTimeout]: String(settings.visibilityTimeout.toSeconds()),
  ...(settings.jobRetention ? { [ENV.retentionDays]: String(settings.jobRetention.toDays()) } : {}),
  ...(settings.failedJobRetention ? { [ENV.failedRetentionDays]: String(settings.failedJobRetention.toDays()) } : {}),
  ...(settings.workerMappingUuid ? { [ENV.workerMappingUuid]: settings.workerMappingUuid } : {}),
});

/** `retry-all-failed` → `RetryAllFailed`: a stable logical id per handler. */
const constructId = (handler: string): string =>
  handler
    .split('-')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');

/**
 * requeue on AWS: the API (HTTP, or REST) whose routes come from lambda/routes.ts, one
 * function per route, the worker, the retry-task runner, the scheduled
 * reconciler and the counter of expired jobs, the main queue with its dead-letter queue, the tasks queue, the
 * job table, and alarms for what needs a person.
 */
export class RequeueStack extends Stack {
  /** The HTTP API, when apiType is `http`. */
  public readonly httpApi?: RequeueHttpApi;
  /** The REST API, when apiType is `rest`. */
  public readonly restApi?: RequeueRestApi;
  /** The API's base URL, ending in `/`. */
  public readonly apiUrl: string;
  public readonly alarms: RequeueAlarms;
  public readonly routeFunctions: ReadonlyMap<Route, RequeueFunction>;
  public readonly worker: WorkerFunction;
  public readonly reconciler: ReconcilerFunction;
  public readonly taskRunner: TaskRunnerFunction;
  /** Keeps the per-state counters from the table's stream. */
  public readonly jobChangesCounter: JobChangesCounter;
  /** The main queue and its dead-letter queue. */
  public readonly queues: QueueWithDlq;
  /** The queue that wakes the retry-task runner, and its dead-letter queue. */
  public readonly taskQueues: QueueWithDlq;
  public readonly jobTable: JobTable;

  constructor(scope: Construct, id: string, props: RequeueStackProps = {}) {
    super(scope, id, props);

    const workerTimeout = props.workerTimeout ?? Duration.seconds(STACK_DEFAULTS.workerTimeoutSeconds);
    const visibilityTimeout = Duration.seconds(workerTimeout.toSeconds() * VISIBILITY_PER_FUNCTION_TIMEOUT);
    this.jobTable = new JobTable(this, 'Jobs');
    this.queues = new QueueWithDlq(this, 'Queues', {
      visibilityTimeout,
      maxReceiveCount: QUEUE_SETTINGS.safetyNetMaxReceiveCount,
      // named, so the DLQ's RedriveAllowPolicy can name it: the console's
      // "custom destination" redrive then has one obvious queue to pick
      queueName: `${this.stackName}-jobs`,
    });
    this.taskQueues = new QueueWithDlq(this, 'TaskQueues', {
      visibilityTimeout: Duration.seconds(TASK_QUEUE_SETTINGS.visibilityTimeoutSeconds),
      maxReceiveCount: TASK_QUEUE_SETTINGS.maxReceiveCount,
    });
    const settings: FunctionSettings = {
      tableName: this.jobTable.table.tableName,
      queueUrl: this.queues.queue.queueUrl,
      deadLetterQueueUrl: this.queues.deadLetterQueue.queueUrl,
      taskQueueUrl: this.taskQueues.queue.queueUrl,
      visibilityTimeout,
      jobRetention: props.jobRetention,
      failedJobRetention: props.failedJobRetention,
    };
    const environment = functionEnvironment(settings);
    const queueGrants = {
      tableArns: this.jobTable.resourceArns,
      mainQueue: this.queues.queue,
      deadLetterQueue: this.queues.deadLetterQueue,
      taskQueue: this.taskQueues.queue,
    };

    this.worker = new WorkerFunction(this, constructId(WORKER.handler), {
      queue: this.queues.queue,
      environment,
      grants: queueGrants,
      timeout: workerTimeout,
      maxConcurrency: props.workerMaxConcurrency,
      reservedConcurrency: props.workerReservedConcurrency,
      batchingWindow: props.workerBatchingWindow,
    });
    // disabling this mapping pauses the worker (POST /jobs/pause): the routes that read or switch it are told which
    const grants: GrantTargets = { ...queueGrants, workerMappingArn: this.worker.eventSource.eventSourceMappingArn };
    this.taskRunner = new TaskRunnerFunction(this, constructId(TASK_RUNNER.handler), { environment, grants });
    this.reconciler = new ReconcilerFunction(this, constructId(RECONCILER.handler), { environment, grants });
    this.jobChangesCounter = new JobChangesCounter(this, constructId(JOB_CHANGES_COUNTER.handler), {
      table: this.jobTable.table,
      environment,
      grants,
    });

    // who called what: kept (for its retention) even after the stack is deleted
    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.routeFunctions = this.addRouteFunctions(settings, grants, props.routeTimeout);
    const apiType = props.apiType ?? 'http';
    const api = this.buildApi(apiType, props, accessLogs);
    this.httpApi = api.httpApi;
    this.restApi = api.restApi;
    this.apiUrl = api.url;

    this.alarms = new RequeueAlarms(this, 'Alarms', {
      queues: this.queues,
      taskQueues: this.taskQueues,
      functions: this.watchedFunctions(),
      apiServerErrors: api.serverErrors,
      table: this.jobTable.table,
      streamReader: this.jobChangesCounter.function,
      oldestMessageAge: props.oldestMessageAlarmAge,
      email: props.alarmEmail,
    });
    this.addOutputs(apiType);
  }

  /** One function per route of the route table, granted what its entry asks for. */
  private addRouteFunctions(settings: FunctionSettings, grants: GrantTargets, timeout?: Duration): ReadonlyMap<Route, RequeueFunction> {
    const environment = functionEnvironment(settings);
    const workerSwitchEnvironment = functionEnvironment({ ...settings, workerMappingUuid: this.worker.eventSource.eventSourceMappingId });
    const routeFunctions = new Map<Route, RequeueFunction>();
    for (const route of ROUTES) {
      const fn = new RequeueFunction(this, constructId(route.handler), {
        handler: route.handler,
        description: route.description,
        environment: route.permissions.workerSwitch?.length ? workerSwitchEnvironment : environment,
        timeout: timeout ?? Duration.seconds(STACK_DEFAULTS.routeTimeoutSeconds),
      });
      grantPermissions(fn.function, route.permissions, grants);
      routeFunctions.set(route, fn);
    }
    return routeFunctions;
  }

  /** The API in front of the route functions, with the metric of its 5xx answers. */
  private buildApi(
    apiType: ApiType,
    props: RequeueStackProps,
    accessLogs: logs.ILogGroup,
  ): { httpApi?: RequeueHttpApi; restApi?: RequeueRestApi; url: string; serverErrors: cloudwatch.IMetric } {
    const throttling = props.apiThrottling ?? DEFAULT_API_THROTTLING;
    if (apiType === 'rest') {
      if (props.jwt && props.jwt.audience.length > 0) {
        throw new Error(
          "A REST API's Cognito authorizer accepts the ID tokens of every app client of the user pool and cannot " +
            'check jwtAudience: leave jwtAudience out with the REST API, or deploy the HTTP API, which checks it.',
        );
      }
      const restApi = new RequeueRestApi(this, 'RestApi', {
        routes: [...this.routeFunctions].map(([route, fn]) => ({ route, function: fn.function })),
        accessLogs,
        cognitoIssuer: props.jwt?.issuer,
        throttling,
      });
      return { restApi, url: restApi.url, serverErrors: restApi.metricServerErrors() };
    }
    const httpApi = new RequeueHttpApi(this, 'Api', {
      routes: [...this.routeFunctions].map(([route, fn]) => ({
        route,
        function: fn.function,
        integrationId: `${constructId(route.handler)}Integration`,
      })),
      accessLogs,
      jwt: props.jwt,
      throttling,
    });
    return { httpApi, url: httpApi.stageUrl, serverErrors: httpApi.metricServerErrors() };
  }

  /** Every function, with what its errors alarm means. */
  private watchedFunctions(): WatchedFunction[] {
    return [
      {
        id: 'Worker',
        function: this.worker.function,
        // A failing job is a partial batch failure, not a function error:
        // errors here mean the worker itself crashed or timed out.
        description: 'The worker function failed (crash or timeout), not just a job in it. See its log group.',
      },
      {
        id: 'TaskRunner',
        function: this.taskRunner.function,
        description: 'The retry-task runner failed (crash or timeout); its chunk is received again. See its log group.',
      },
      {
        id: 'Reconciler',
        function: this.reconciler.function,
        description: 'A reconciler run failed (crash or timeout); the next run, a minute later, makes up for it. See its log group.',
      },
      {
        id: 'JobChangesCounter',
        function: this.jobChangesCounter.function,
        description:
          'Counting job changes from the table stream failed; the stream holds its records and retries them, so counts lag until it succeeds. See its log group.',
      },
      ...[...this.routeFunctions].map(([route, fn]) => ({
        id: constructId(route.handler),
        function: fn.function,
        description: `The function behind ${routeKey(route)} failed (crash or timeout): its callers got a 5xx. See its log group.`,
      })),
    ];
  }

  private addOutputs(apiType: ApiType): void {
    new CfnOutput(this, 'ApiUrl', { value: this.apiUrl, description: `Base URL of the ${apiType.toUpperCase()} API` });
    new CfnOutput(this, 'QueueUrl', { value: this.queues.queue.queueUrl });
    new CfnOutput(this, 'QueueArn', { value: this.queues.queue.queueArn });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.queues.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'DeadLetterQueueArn', { value: this.queues.deadLetterQueue.queueArn });
    // The worker sends its DLQ copies itself, so SQS knows no source queue for
    // them: redrive to the main queue by name (docs/deploying.md).
    new CfnOutput(this, 'RedriveCommand', {
      description: "Move the DLQ's messages back to the main queue (the console's 'custom destination' redrive)",
      value:
        `aws sqs start-message-move-task --source-arn ${this.queues.deadLetterQueue.queueArn} ` +
        `--destination-arn ${this.queues.queue.queueArn}`,
    });
    new CfnOutput(this, 'TaskQueueUrl', { value: this.taskQueues.queue.queueUrl });
    new CfnOutput(this, 'TableName', { value: this.jobTable.table.tableName });
    if (this.alarms.topic) new CfnOutput(this, 'AlarmTopicArn', { value: this.alarms.topic.topicArn });
  }
}
