import { Duration } from 'aws-cdk-lib';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { FUNCTION_ENV, QUEUE_SETTINGS, STACK_DEFAULTS, jobTimeoutWithin } from '../lambda/adapters/settings';
import { WORKER } from '../lambda/routes';
import { RequeueFunction } from './requeue-function';
import { grantPermissions, type GrantTargets } from './route-grants';

export interface WorkerFunctionProps {
  /** The main queue, which feeds the worker through an SQS event source mapping. */
  readonly queue: IQueue;
  /** What every function reads (functionEnvironment); the worker adds its jobs' default time limit. */
  readonly environment: Readonly<Record<string, string>>;
  /** What the worker's route-table permissions apply to; its own mapping is not among them. */
  readonly grants: Omit<GrantTargets, 'workerMappingArn'>;
  /**
   * Bounds one batch of jobs (they run concurrently). Keep the queue's
   * visibility timeout at least VISIBILITY_PER_FUNCTION_TIMEOUT times this.
   * @default Duration.seconds(STACK_DEFAULTS.workerTimeoutSeconds)
   */
  readonly timeout?: Duration;
  /**
   * Worker invocations the event source may run at once.
   * @default STACK_DEFAULTS.workerMaxConcurrency
   */
  readonly maxConcurrency?: number;
  /**
   * Concurrent executions reserved for the worker: at least maxConcurrency,
   * or the event source's invocations are throttled; `false` reserves none.
   * @default maxConcurrency
   */
  readonly reservedConcurrency?: number | false;
  /**
   * How long the event source may gather messages before it invokes the worker.
   * @default Duration.seconds(STACK_DEFAULTS.workerBatchingWindowSeconds)
   */
  readonly batchingWindow?: Duration;
}

/**
 * The worker: runs jobs from the main queue in batches, reporting each failed
 * job as a batch item failure. Disabling its event source mapping pauses it
 * (POST /jobs/pause).
 */
export class WorkerFunction extends RequeueFunction {
  public readonly eventSource: SqsEventSource;

  constructor(scope: Construct, id: string, props: WorkerFunctionProps) {
    const timeout = props.timeout ?? Duration.seconds(STACK_DEFAULTS.workerTimeoutSeconds);
    const maxConcurrency = props.maxConcurrency ?? STACK_DEFAULTS.workerMaxConcurrency;
    const reserved = props.reservedConcurrency ?? maxConcurrency;
    if (reserved !== false && reserved < maxConcurrency) {
      throw new Error(
        `workerReservedConcurrency (${reserved}) is below workerMaxConcurrency (${maxConcurrency}): ` +
          'the event source would be throttled. Reserve at least as many, or none (false).',
      );
    }
    super(scope, id, {
      handler: WORKER.handler,
      description: WORKER.description,
      environment: { ...props.environment, [FUNCTION_ENV.jobTimeoutMs]: String(jobTimeoutWithin(timeout.toMilliseconds())) },
      timeout,
      reservedConcurrentExecutions: reserved === false ? undefined : reserved,
    });
    this.eventSource = new SqsEventSource(props.queue, {
      batchSize: QUEUE_SETTINGS.batchSize,
      maxBatchingWindow: props.batchingWindow ?? Duration.seconds(STACK_DEFAULTS.workerBatchingWindowSeconds),
      maxConcurrency,
      reportBatchItemFailures: true,
    });
    this.function.addEventSource(this.eventSource);
    grantPermissions(this.function, WORKER.permissions, { ...props.grants, workerMappingArn: this.eventSource.eventSourceMappingArn });
  }
}
