/**
 * `npm start`: the whole of requeue in one process. dynalite stands in for
 * DynamoDB (kept on disk), fauxqs for SQS (in memory), an API Gateway
 * emulation serves the route table and an event-source emulation feeds the
 * worker, all with the very handlers deployed to Lambda.
 */
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createDynamoDbClient, createSqsClient } from '../lambda/adapters/aws-clients';
import { FUNCTION_ENV, QUEUE_SETTINGS, TASK_QUEUE_SETTINGS, localWorkerTimeoutMs } from '../lambda/adapters/settings';
import { ConfigurationError } from '../lambda/core/errors';
import { JOB_CHANGES_COUNTER, RECONCILER, ROUTES, TASK_RUNNER, WORKER } from '../lambda/routes';
import { dashboardAsset } from '../dashboard/assets';
import { createApiGateway, type HttpHandler } from './api-gateway';
import { startEmulators, type Emulators } from './emulators';
import { startEventSource, type EventSource, type SqsHandler } from './event-source';
import { LocalEventSourceMapping } from './event-source-mapping';
import { startExpiry, type Expiry } from './expire-items';
import { loadHandler } from './handler-modules';
import { LOCAL_ACCOUNT_ID } from './lambda-context';
import { startLambdaFront, type LambdaFront } from './lambda-front';
import { provision } from './provision';
import { startSchedule, type Schedule, type ScheduledHandler } from './schedule';
import { startStreamEventSource, type StreamEventSource, type StreamHandler } from './stream-event-source';
import { DEFAULT_WORKER_CONCURRENCY, readSettings, SettingsError, type Settings } from './settings';
import { readWorkerMapping, workerMappingFile, writeWorkerMapping } from './worker-mapping-file';

/** A second Ctrl-C sooner than this is the same press, delivered twice. */
const REPEAT_SIGNAL_MS = 500;
/** How long a stop waits for open HTTP requests before cutting them. */
const HTTP_DRAIN_MS = 5_000;
/** How often the stand-in for TTL looks for expired items (DynamoDB's own TTL takes up to days). */
const EXPIRY_PERIOD_MS = 10 * 60_000;

interface Running {
  emulators?: Emulators;
  server?: Server;
  /** The worker's event source mapping: its pollers, which POST /jobs/pause and /jobs/resume stop and start. */
  workerMapping?: LocalEventSourceMapping;
  lambdaFront?: LambdaFront;
  taskSource?: EventSource;
  reconciler?: Schedule;
  expiry?: Expiry;
  changesSource?: StreamEventSource;
  /** Set once a stop began: work still going on in the background stops reporting. */
  stopping?: boolean;
}

const listen = (server: Server, port: number, host: string): Promise<number> =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });

const closeServer = (server: Server): Promise<void> =>
  new Promise((resolve) => {
    const cut = setTimeout(() => server.closeAllConnections(), HTTP_DRAIN_MS);
    server.close(() => {
      clearTimeout(cut);
      resolve();
    });
    server.closeIdleConnections();
  });

/** Point the AWS SDK at the emulators, with throwaway credentials: nothing here may reach AWS. */
const useEmulators = (emulators: Emulators, lambdaEndpoint: string, region: string): void => {
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_SESSION_TOKEN;
  Object.assign(process.env, {
    AWS_REGION: region,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: emulators.dynamoDbEndpoint,
    AWS_ENDPOINT_URL_SQS: emulators.fauxqsEndpoint,
    AWS_ENDPOINT_URL_LAMBDA: lambdaEndpoint,
  });
  // the SDK's notice about its future Node.js support is noise on every local start
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
};

const start = async (settings: Settings, running: Running): Promise<number> => {
  const startedAt = Date.now();
  // bundled while the emulators start; a request for it before then waits for the same build
  dashboardAsset('/dashboard').catch((error: unknown) => {
    process.stderr.write(`The dashboard could not be built:\n${String((error as Error).stack ?? error)}\n`);
  });
  const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const dynamoDbDir = path.join(settings.dataDir, 'dynamodb');
  running.emulators = await startEmulators({
    dynamoDbPort: settings.dynamoDbPort,
    sqsPort: settings.sqsPort,
    dataDir: dynamoDbDir,
    region,
  });
  // the Lambda API's endpoint and the mapping's UUID go into the environment the handlers read as they load
  const mappingFile = workerMappingFile(settings.dataDir);
  const kept = readWorkerMapping(mappingFile);
  running.lambdaFront = await startLambdaFront({ port: 0, host: '127.0.0.1' });
  useEmulators(running.emulators, running.lambdaFront.endpoint, region);

  const sqs = createSqsClient();
  const deleteSqs = createSqsClient({ cacheMiddleware: true });
  // through the SQS endpoint: fauxqs writes the port a CreateQueue came to into the queue's URL, and those URLs are
  // what the AWS CLI or the SDK is told by GetQueueUrl there
  const provisioning = new SQSClient({ endpoint: running.emulators.sqsEndpoint, useQueueUrlAsEndpoint: false });
  const resources = await provision(
    { dynamodb: createDynamoDbClient(), sqs: provisioning },
    {
      tableName: 'requeue-jobs',
      queueName: 'requeue-jobs',
      deadLetterQueueName: 'requeue-jobs-dlq',
      visibilityTimeoutSeconds: settings.visibilityTimeoutSeconds,
    },
  );
  provisioning.destroy();
  const queueArn = async (queueUrl: string): Promise<string> => {
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
    return Attributes!.QueueArn!;
  };
  // the functions' default job time limit assumes this timeout (lambda/adapters/config.ts)
  const workerTimeoutMs = localWorkerTimeoutMs(settings.visibilityTimeoutSeconds * 1000);
  Object.assign(process.env, {
    [FUNCTION_ENV.tableName]: resources.tableName,
    [FUNCTION_ENV.queueUrl]: resources.queueUrl,
    [FUNCTION_ENV.deadLetterQueueUrl]: resources.deadLetterQueueUrl,
    [FUNCTION_ENV.taskQueueUrl]: resources.taskQueueUrl,
    [FUNCTION_ENV.visibilityTimeout]: String(settings.visibilityTimeoutSeconds),
    [FUNCTION_ENV.workerMappingUuid]: kept.uuid,
    // the recount waits out the counters' lag behind the stream
    [FUNCTION_ENV.streamWindowMs]: String(Math.max(1, settings.streamBatchingWindowMs)),
  });

  // only now, with the environment set: handlers and services read it when loaded
  const handlers = new Map(
    await Promise.all(ROUTES.map(async (route) => [route.handler, await loadHandler<HttpHandler>(route.handler)] as const)),
  );
  const worker = await loadHandler<SqsHandler>(WORKER.handler);
  const taskRunner = await loadHandler<SqsHandler>(TASK_RUNNER.handler);
  const reconcile = await loadHandler<ScheduledHandler>(RECONCILER.handler);
  const countChanges = await loadHandler<StreamHandler>(JOB_CHANGES_COUNTER.handler);
  const { services } = await import('../lambda/adapters/services');
  const { resendPendingJobs } = await import('../lambda/core/resend-pending-jobs');
  const { resumeAbandonedTasks } = await import('../lambda/core/run-retry-task');
  const { resumeAbandonedRecounts } = await import('../lambda/core/recount-jobs');

  // the counts follow the table's stream, from where the last run left it: a change a kill -9 interrupted the
  // counting of is handed over again, as Lambda does (stream-event-source.ts)
  running.changesSource = startStreamEventSource({
    streams: new DynamoDBStreamsClient({ endpoint: running.emulators.dynamoDbEndpoint }),
    tableName: resources.tableName,
    region,
    filter: JOB_CHANGES_COUNTER.filter,
    batchSize: JOB_CHANGES_COUNTER.batchSize,
    batchingWindowMs: settings.streamBatchingWindowMs,
    handler: countChanges,
    functionName: `requeue-${JOB_CHANGES_COUNTER.handler}`,
    timeoutMs: JOB_CHANGES_COUNTER.timeoutSeconds * 1000,
    checkpointFile: path.join(settings.dataDir, 'streams', `${resources.tableName}.json`),
  });
  // every open retry task gets a runner again: none of the last run survives it
  await resumeAbandonedTasks(services(), { everyOpenTask: true });
  await resumeAbandonedRecounts(services(), { everyOpenRecount: true });

  const workerQueueArn = await queueArn(resources.queueUrl);
  const workerFunctionName = `requeue-${WORKER.handler}`;
  running.workerMapping = new LocalEventSourceMapping({
    uuid: kept.uuid,
    eventSourceArn: workerQueueArn,
    functionArn: `arn:aws:lambda:${region}:${LOCAL_ACCOUNT_ID}:function:${workerFunctionName}`,
    batchSize: QUEUE_SETTINGS.batchSize,
    // REQUEUE_WORKER_CONCURRENCY=0 starts it paused for this run only; a pause through the API is kept
    enabled: kept.enabled && settings.workerConcurrency > 0,
    start: () =>
      startEventSource({
        sqs,
        deleteSqs,
        queueUrl: resources.queueUrl,
        queueArn: workerQueueArn,
        region,
        handler: worker,
        functionName: workerFunctionName,
        timeoutMs: workerTimeoutMs,
        concurrency: settings.workerConcurrency || DEFAULT_WORKER_CONCURRENCY,
      }),
    onChange: (enabled) => writeWorkerMapping(mappingFile, { uuid: kept.uuid, enabled }),
  });
  running.lambdaFront.add(running.workerMapping);
  // one retry-task chunk per invocation, two at a time, as on AWS
  running.taskSource = startEventSource({
    sqs,
    deleteSqs,
    queueUrl: resources.taskQueueUrl,
    queueArn: await queueArn(resources.taskQueueUrl),
    region,
    handler: taskRunner,
    functionName: `requeue-${TASK_RUNNER.handler}`,
    timeoutMs: TASK_RUNNER.timeoutSeconds * 1000,
    concurrency: TASK_QUEUE_SETTINGS.maxConcurrency,
    batchSize: TASK_QUEUE_SETTINGS.batchSize,
  });
  // dynalite has no TTL: expired items go here, and the stream tells the counting function of each expired job
  running.expiry = startExpiry({ dynamodb: createDynamoDbClient(), tableName: resources.tableName, periodMs: EXPIRY_PERIOD_MS });
  running.server = createApiGateway({ routes: ROUTES, handlers, region, apiKey: settings.apiKey, staticFiles: dashboardAsset });
  const port = await listen(running.server, settings.port, settings.host);

  // The local SQS starts empty: every unfinished job gets its message again. After
  // listening, so that a restart on a large backlog serves at once; the worker runs
  // each job as its message arrives (tens of thousands take a minute or more).
  // Then what the schedule does on AWS: repair jobs whose message went missing. Not
  // sooner: its first pass would re-send again the jobs this re-send is still sending.
  const startReconciler = () => {
    if (running.stopping) return;
    running.reconciler = startSchedule({
      expression: RECONCILER.schedule,
      handler: reconcile,
      functionName: `requeue-${RECONCILER.handler}`,
      timeoutMs: RECONCILER.timeoutSeconds * 1000,
      region,
    });
  };
  // only jobs this runtime has not touched: those enqueued (or run) since it started have their messages
  void resendPendingJobs(services(), { untouchedSince: startedAt }).then(
    (counts) => {
      const resent = counts.waiting + counts.delayed + counts.active;
      if (resent > 0 && !running.stopping) process.stdout.write(`Re-sent ${resent} unfinished job(s) left by the last run\n`);
      startReconciler();
    },
    (error: unknown) => {
      startReconciler();
      if (running.stopping) return;
      process.stderr.write(`Re-sending the unfinished jobs failed; the reconciler takes them up within minutes:\n${String((error as Error).stack ?? error)}\n`);
    },
  );
  return port;
};

const stop = async (running: Running): Promise<void> => {
  running.stopping = true;
  const closing = running.server ? closeServer(running.server) : Promise.resolve();
  await Promise.all([running.workerMapping?.stop(), running.taskSource?.stop(), running.reconciler?.stop(), running.expiry?.stop()]);
  await closing;
  await running.lambdaFront?.stop();
  // last: the changes made while the others stopped are counted before the stop
  await running.changesSource?.caughtUp().catch(() => undefined);
  await running.changesSource?.stop();
  await running.emulators?.stop();
};

/** Loopback and every-interface addresses are reachable as localhost; any other is named as it is. */
const displayHost = (host: string): string => {
  if (['127.0.0.1', '::1', '0.0.0.0', '::', 'localhost'].includes(host)) return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
};

const explain = (error: unknown): string => {
  const e = error as NodeJS.ErrnoException & { port?: number };
  if (e.code === 'EADDRINUSE') {
    return `Port ${e.port ?? ''} is already in use. Stop what uses it, or choose other ports with PORT, SQS_PORT and DYNAMODB_PORT.`;
  }
  if (error instanceof SettingsError || e.code === 'DATA_DIR_IN_USE') return e.message;
  // a handler refusing its settings as it loads: its sentence is the whole answer, the loader's stack is noise
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    if (current instanceof ConfigurationError) return `${current.message}.`;
  }
  const chain: string[] = [];
  for (let current: unknown = error; current !== undefined; current = (current as Error).cause) {
    chain.push(current instanceof Error ? (current.stack ?? current.message) : String(current));
    if (!(current instanceof Error)) break;
  }
  return `requeue could not start:\n${chain.join('\nCaused by: ')}`;
};

const main = async (): Promise<void> => {
  const running: Running = {};
  let stopping = false;
  let firstSignalAt = 0;
  const shutdown = () => {
    if (stopping) {
      // a terminal's Ctrl-C reaches us twice when npm forwards it too; only a later press means "now"
      if (Date.now() - firstSignalAt < REPEAT_SIGNAL_MS) return;
      process.stderr.write('Stopping at once.\n');
      process.exit(1);
    }
    stopping = true;
    firstSignalAt = Date.now();
    const busy = running.workerMapping?.inFlight ?? 0;
    const tasks = running.taskSource?.inFlight ?? 0;
    if (busy + tasks > 0) {
      const what = [busy > 0 ? `${busy} batch(es) of running jobs` : '', tasks > 0 ? `${tasks} retry task chunk(s)` : '']
        .filter(Boolean)
        .join(' and ');
      process.stderr.write(
        `Stopping: waiting for ${what} to finish. Press Ctrl-C again to stop at once (no job is lost: the next start resumes them).\n`,
      );
    }
    stop(running).then(
      () => {
        process.stderr.write('requeue stopped\n');
        process.exit(0);
      },
      (error: unknown) => {
        process.stderr.write(`requeue did not stop cleanly:\n${String((error as Error).stack ?? error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);

  try {
    const settings = readSettings(process.env);
    const port = await start(settings, running);
    if (stopping) return;
    // with SQS_PORT or DYNAMODB_PORT at 0 this line is the only way to find them (the AWS CLI, a test)
    const { dynamoDbEndpoint, sqsEndpoint } = running.emulators!;
    process.stdout.write(`DynamoDB API (dynalite) at ${dynamoDbEndpoint}, SQS API (fauxqs) at ${sqsEndpoint}\n`);
    const paused =
      settings.workerConcurrency === 0
        ? ' (worker paused: REQUEUE_WORKER_CONCURRENCY=0; jobs wait in the queue)'
        : running.workerMapping?.configuration().State === 'Disabled'
          ? ' (worker paused by POST /jobs/pause; jobs wait in the queue until POST /jobs/resume)'
          : '';
    process.stdout.write(`requeue is running at http://${displayHost(settings.host)}:${port}${paused}\n`);
    process.stdout.write(`Dashboard at http://${displayHost(settings.host)}:${port}/dashboard\n`);
  } catch (error) {
    process.stderr.write(`${explain(error)}\n`);
    await stop(running).catch(() => undefined);
    process.exit(1);
  }
};

void main();
