import type { WorkerSwitchServices } from '../core/pause-worker';
import type { JobQueue, JobStore, RetryTaskStore, TaskQueue } from '../core/ports';
import type { RecountStore } from '../core/recount-jobs';
import { readConfig, readWorkerSwitchConfig, type Config } from './config';
import { DynamoDbJobStore } from './dynamodb-job-store';
import { DynamoDbRecountStore } from './dynamodb-recount-store';
import { DynamoDbRetryTaskStore } from './dynamodb-retry-task-store';
import { DynamoDbWorkerChanges } from './dynamodb-worker-changes';
import { LambdaWorkerSwitch } from './lambda-worker-switch';
import { SqsJobQueue, SqsTaskQueue } from './sqs-job-queue';

export interface Services {
  readonly config: Config;
  readonly store: JobStore;
  readonly queue: JobQueue;
  readonly tasks: RetryTaskStore;
  readonly taskQueue: TaskQueue;
  readonly recounts: RecountStore;
}

let built: Services | undefined;

/**
 * The store and queue every handler uses, built once per process (at cold
 * start on Lambda) from the environment, so connections are reused across
 * invocations.
 */
export const services = (): Services => {
  if (!built) {
    const config = readConfig();
    built = {
      config,
      store: new DynamoDbJobStore({
        tableName: config.tableName,
        retentionMs: config.retentionMs,
        indexShards: config.indexShards,
        failedRetentionMs: config.failedRetentionMs,
      }),
      queue: new SqsJobQueue({ queueUrl: config.queueUrl, deadLetterQueueUrl: config.deadLetterQueueUrl }),
      tasks: new DynamoDbRetryTaskStore({ tableName: config.tableName }),
      taskQueue: new SqsTaskQueue({ taskQueueUrl: config.taskQueueUrl }),
      recounts: new DynamoDbRecountStore({ tableName: config.tableName }),
    };
  }
  return built;
};

let switchBuilt: WorkerSwitchServices | undefined;

/**
 * The worker's switch and the record of who used it, for the functions that
 * read or flip it: only they are given REQUEUE_WORKER_MAPPING_UUID, and
 * fail at cold start without it.
 */
export const workerSwitch = (): WorkerSwitchServices => {
  if (!switchBuilt) {
    const { mappingUuid } = readWorkerSwitchConfig();
    switchBuilt = {
      worker: new LambdaWorkerSwitch({ mappingUuid }),
      changes: new DynamoDbWorkerChanges({ tableName: services().config.tableName }),
    };
  }
  return switchBuilt;
};
