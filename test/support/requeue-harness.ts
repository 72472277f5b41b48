import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { ROUTES, TASK_RUNNER, WORKER } from '../../lambda/routes';
import { createApiGateway, type HttpHandler } from '../../local/api-gateway';
import { startEventSource, type EventSource, type SqsHandler } from '../../local/event-source';
import { LocalEventSourceMapping } from '../../local/event-source-mapping';
import { loadHandler } from '../../local/handler-modules';
import { freshResources } from './resources';
import { createResponseChecker } from './response-checker';
import { startCounting } from './stream-counting';

/** Routes whose answers are read from the counters (metrics, and the totals of bulk operations). */
const READS_COUNTERS = new Set(['GET /jobs/metrics', 'POST /jobs/retry-all-failed', 'POST /jobs/remove-all-failed']);

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: any;
}

/**
 * The real handlers on fresh resources: HTTP through the API Gateway
 * emulation on a free port, the worker fed by the event-source emulation,
 * the counters by the table's stream.
 */
export const startHarness = async (options: { visibilityTimeoutSeconds?: number; workers?: number } = {}) => {
  const resources = await freshResources(options);
  const { Attributes } = await resources.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: resources.queueUrl, AttributeNames: ['QueueArn'] }),
  );
  // the worker's pollers are its event source mapping's: POST /jobs/pause and /jobs/resume stop and start them
  let worker: SqsHandler | undefined;
  const workerMapping = new LocalEventSourceMapping({
    uuid: randomUUID(),
    eventSourceArn: Attributes!.QueueArn!,
    functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:worker',
    batchSize: 10,
    enabled: false,
    start: () =>
      startEventSource({
        sqs: resources.sqs,
        queueUrl: resources.queueUrl,
        queueArn: Attributes!.QueueArn!,
        region: process.env.AWS_REGION!,
        handler: worker!,
        functionName: 'worker',
        timeoutMs: (options.visibilityTimeoutSeconds ?? 30) * 1000,
        concurrency: options.workers ?? 2,
        waitTimeSeconds: 1,
      }),
  });
  resources.lambdaFront.add(workerMapping);
  process.env.REQUEUE_WORKER_MAPPING_UUID = workerMapping.uuid;
  const counting = await startCounting(resources.tableName);

  const handlers = new Map<string, HttpHandler>();
  for (const route of ROUTES) handlers.set(route.handler, await loadHandler<HttpHandler>(route.handler));
  const server = createApiGateway({ routes: ROUTES, handlers, region: process.env.AWS_REGION! });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const checkResponse = createResponseChecker();

  worker = await loadHandler<SqsHandler>(WORKER.handler);
  const startWorker = () => {
    workerMapping.setEnabled(true);
  };
  const stopWorker = async () => {
    await workerMapping.settled();
    workerMapping.setEnabled(false);
    await workerMapping.settled();
  };

  const { Attributes: taskQueue } = await resources.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: resources.taskQueueUrl, AttributeNames: ['QueueArn'] }),
  );
  const taskRunner = await loadHandler<SqsHandler>(TASK_RUNNER.handler);
  let taskSource: EventSource | undefined;
  const startTaskRunner = () => {
    taskSource ??= startEventSource({
      sqs: resources.sqs,
      queueUrl: resources.taskQueueUrl,
      queueArn: taskQueue!.QueueArn!,
      region: process.env.AWS_REGION!,
      handler: taskRunner,
      functionName: 'retry-task-runner',
      timeoutMs: 60_000,
      concurrency: 1,
      batchSize: 1,
      waitTimeSeconds: 1,
    });
  };
  const stopTaskRunner = async () => {
    await taskSource?.stop();
    taskSource = undefined;
  };

  /** Fails (ResponseMismatchError) on an answer the OpenAPI description does not give. */
  const request = async (method: string, path: string, body?: unknown): Promise<HttpAnswer> => {
    // what these answer is read from the counters, which follow the stream a moment behind: wait for it, as the
    // tests here check the counts, not how soon they arrive (the e2e tests wait for them as a user would)
    if (READS_COUNTERS.has(`${method} ${path.split('?')[0]}`)) await counting.caughtUp();
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    checkResponse(method, path, { status: response.status, headers: response.headers, text });
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
  };

  /** `GET /jobs/details/:id`'s body. */
  const details = async (id: string) => (await request('GET', `/jobs/details/${id}`)).body;
  /** The job once it is in `state`, polled. */
  const untilState = (id: string, state: string, timeoutMs = 10_000) =>
    eventually(async () => {
      const job = await details(id);
      return job.state === state && job;
    }, timeoutMs, `job ${id} to be ${state}`);

  return {
    ...resources,
    baseUrl,
    request,
    details,
    untilState,
    startWorker,
    stopWorker,
    startTaskRunner,
    stopTaskRunner,
    /** Resolves once every change made so far is in the counters. */
    caughtUp: counting.caughtUp,
    stop: async () => {
      await stopWorker();
      await stopTaskRunner();
      await counting.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};

export type Harness = Awaited<ReturnType<typeof startHarness>>;

/**
 * Poll `check` every 50 ms until it returns a truthy value, and resolve with that value; after `timeoutMs`,
 * fail with an error naming `what` was waited for. An error `check` throws fails at once.
 */
export const eventually = async <T>(
  check: () => Promise<T | undefined | false>,
  timeoutMs = 10_000,
  what = 'the condition',
): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};
