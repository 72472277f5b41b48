/**
 * `npm run bench`: the benchmark of issue 5, in one run against the local
 * runtime, every rate set against a floor measured in the same run.
 *
 *  1. `GET /jobs/metrics` and `GET /jobs/failed?limit=50` on the empty table
 *  2. the floor: conditional UpdateItems on the runtime's own dynalite
 *  3. enqueue N jobs at concurrency C; end-to-end until all completed
 *  4. seed failed jobs; retry some one request each, then all the rest with
 *     one retry-all, followed until its task is COMPLETED
 *  5. seed up to 100,000 jobs; the two calls of step 1 again
 *  6. the floor again, on the full table; stop the runtime
 *  7. each handler's bundle size and cold-import time (bench/bundles.ts)
 *
 * and writes docs/BENCHMARKS.md. Sizes: `npm run bench -- --help`.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDynamoDbClient, createSqsClient } from '../lambda/adapters/aws-clients';
import { DynamoDbJobStore } from '../lambda/adapters/dynamodb-job-store';
import { ROOT } from '../test/support/build';
import { removeDataDir, startLocalRuntime, type LocalRuntime } from '../test/support/local-runtime';
import { measureBundles } from './bundles';
import { createFloorItems, measureFloor } from './floor';
import { now, perSecond, runConcurrently, timeCalls, waitFor } from './load';
import { BenchOptionsError, commandLine, readOptions, usage, type BenchOptions } from './options';
import {
  describeMachine,
  evaluateTargets,
  formatReport,
  keptPart,
  type BenchResults,
  type LatencyPair,
  type Seeding,
} from './report';
import { completedJob, failedJob, seedJobs, type SeedTarget } from './seed';

/** As local/main.ts provisions them. */
const TABLE_NAME = 'requeue-jobs';
const DEAD_LETTER_QUEUE_NAME = 'requeue-jobs-dlq';
const RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

interface Metrics {
  readonly waiting: number;
  readonly active: number;
  readonly completed: number;
  readonly failed: number;
  readonly delayed: number;
  readonly total: number;
  readonly queues: { readonly main: Depth; readonly deadLetter: Depth };
}
interface Depth {
  readonly visible: number;
  readonly inFlight: number;
  readonly delayed: number;
}

const log = (message: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

/** Two distinct free ports. */
const freePorts = async (): Promise<[number, number]> => {
  for (;;) {
    const [a, b] = [await freePort(), await freePort()];
    if (a !== b) return [a, b];
  }
};

class Api {
  constructor(private readonly runtime: LocalRuntime) {}

  async call(method: string, route: string, expected: number, body?: unknown): Promise<any> {
    const answer = await this.runtime.request(method, route, body);
    if (answer.status !== expected) {
      throw new Error(`${method} ${route} answered ${answer.status} (expected ${expected}): ${answer.text.slice(0, 500)}`);
    }
    return answer.body;
  }

  /** The answer whatever its status. */
  raw(method: string, route: string, body?: unknown) {
    return this.runtime.request(method, route, body);
  }

  metrics = (): Promise<Metrics> => this.call('GET', '/jobs/metrics', 200);
}

const pending = (m: Metrics) => m.waiting + m.active + m.delayed;
const deadLetters = (m: Metrics) => m.queues.deadLetter.visible + m.queues.deadLetter.inFlight + m.queues.deadLetter.delayed;
/** Generous: no phase should ever run slower than 20 jobs a second. */
const budgetFor = (jobs: number) => Math.max(60_000, jobs * 50);

const measureLatency = async (api: Api, samples: number): Promise<LatencyPair> => {
  const jobs = (await api.metrics()).total;
  const metrics = await timeCalls(samples, async () => void (await api.call('GET', '/jobs/metrics', 200)));
  const failedPage = await timeCalls(samples, async () => void (await api.call('GET', '/jobs/failed?limit=50', 200)));
  return { metrics, failedPage, jobs };
};

const seed = async (
  target: SeedTarget,
  store: DynamoDbJobStore,
  counts: { failed: number; completed: number },
  firstN: number,
): Promise<{ seeding: Seeding; failedIds: string[] }> => {
  const base = Date.now() - counts.failed - counts.completed - 60_000;
  const start = now();
  await seedJobs(target, counts.completed, (i) => completedJob(firstN + i, base + i));
  const failed = await seedJobs(target, counts.failed, (i) => failedJob(firstN + counts.completed + i, base + counts.completed + i));
  const ms = now() - start;
  const recountStart = now();
  await store.recount();
  const recountMs = now() - recountStart;
  return {
    seeding: { jobs: counts.failed + counts.completed, failed: counts.failed, completed: counts.completed, ms, recountMs },
    failedIds: failed.map((job) => job.id),
  };
};

const run = async (options: BenchOptions, runtime: LocalRuntime, ports: { dynamoDb: number; sqs: number }) => {
  const C = options.concurrency;
  const api = new Api(runtime);

  // the bench's own SDK clients, on the runtime's emulators, with throwaway credentials
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_SESSION_TOKEN;
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${ports.dynamoDb}`,
    AWS_ENDPOINT_URL_SQS: `http://127.0.0.1:${ports.sqs}`,
  });
  // the SDK's notice about its future Node.js support is noise here, as in the runtime
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const client = createDynamoDbClient();
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  const sqs = createSqsClient();
  const store = new DynamoDbJobStore({ tableName: TABLE_NAME, retentionMs: RETENTION_MS, client });
  const { QueueUrl: deadLetterQueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: DEAD_LETTER_QUEUE_NAME }));
  const target: SeedTarget = { doc, tableName: TABLE_NAME, sqs, deadLetterQueueUrl: deadLetterQueueUrl!, concurrency: C };

  log(`metrics and a failed page on the empty table, ${options.samples} calls each`);
  const latencyEmpty = await measureLatency(api, options.samples);

  log(`floor: ${options.floorUpdates} conditional UpdateItems at C = ${C}`);
  await createFloorItems(doc, TABLE_NAME);
  const floor = await measureFloor(doc, TABLE_NAME, options.floorUpdates, C);
  log(`floor: ${Math.round(floor.perSecond)}/s`);

  log(`enqueue ${options.jobs} demo.echo jobs at C = ${C}`);
  const e2eStart = now();
  const enqueueMs = await runConcurrently(options.jobs, C, async (i) => {
    await api.call('POST', '/jobs', 201, { name: 'demo.echo', data: { n: i } });
  });
  log(`enqueue: ${Math.round(perSecond(options.jobs, enqueueMs))}/s; waiting for all to complete`);
  const done = await waitFor(api.metrics, (m) => m.completed + m.failed >= options.jobs, `${options.jobs} jobs to finish`, budgetFor(options.jobs));
  const e2eMs = now() - e2eStart;
  if (done.failed > 0) throw new Error(`${done.failed} demo.echo job(s) failed: ${JSON.stringify(done)}`);
  log(`end-to-end: ${Math.round(perSecond(options.jobs, e2eMs))}/s`);

  const retryJobs = options.singleRetries + options.retryAll;
  log(`seeding ${retryJobs} failed jobs`);
  const forRetries = await seed(target, store, { failed: retryJobs, completed: 0 }, options.jobs);
  const seeded = await api.metrics();
  if (seeded.failed !== retryJobs) throw new Error(`expected ${retryJobs} failed jobs after seeding: ${JSON.stringify(seeded)}`);

  log(`${options.singleRetries} single retries at C = ${C}`);
  const singleIds = forRetries.failedIds.slice(0, options.singleRetries);
  const singleMs = await runConcurrently(singleIds.length, C, async (i) => {
    await api.call('POST', `/jobs/retry/${singleIds[i]}`, 200);
  });
  log(`single retries: ${Math.round(perSecond(singleIds.length, singleMs))}/s; waiting for them to complete`);
  const completedBefore = options.jobs + options.singleRetries;
  await waitFor(
    api.metrics,
    (m) => m.completed === completedBefore && pending(m) === 0 && m.failed === options.retryAll,
    'the single retries to complete',
    budgetFor(options.singleRetries),
  );

  log(`retry-all over ${options.retryAll} failed jobs`);
  const retryStart = now();
  const answer = await api.raw('POST', '/jobs/retry-all-failed');
  let retryAllMs: number;
  let retried: number;
  let notRetried: number;
  let total: number;
  let mode: 'task' | 'sync';
  if (answer.status === 202) {
    mode = 'task';
    const taskId = answer.body.taskId as string;
    const task = await waitFor(
      () => api.call('GET', `/jobs/retry-tasks/${taskId}`, 200),
      (t) => t.status !== 'RUNNING',
      `retry task ${taskId} to finish`,
      budgetFor(options.retryAll),
    );
    retryAllMs = now() - retryStart;
    if (task.status !== 'COMPLETED') throw new Error(`retry task ended ${task.status}: ${JSON.stringify(task)}`);
    ({ retried, failed: notRetried, total } = task);
  } else if (answer.status === 200) {
    mode = 'sync';
    retryAllMs = now() - retryStart;
    ({ retriedCount: retried, failedCount: notRetried, total } = answer.body);
  } else {
    throw new Error(`POST /jobs/retry-all-failed answered ${answer.status}: ${answer.text.slice(0, 500)}`);
  }
  log(`retry-all (${mode}): ${Math.round(perSecond(retried, retryAllMs))}/s; waiting for the jobs and the dead-letter sweep`);
  let allCompletedMs: number | undefined;
  await waitFor(
    api.metrics,
    (m) => {
      if (allCompletedMs === undefined && m.completed === completedBefore + options.retryAll && pending(m) === 0) {
        allCompletedMs = now() - retryStart;
      }
      return allCompletedMs !== undefined && deadLetters(m) === 0;
    },
    'the retried jobs to complete and the dead-letter queue to be swept',
    budgetFor(options.retryAll),
  );
  const deadLettersSweptMs = now() - retryStart;

  const existing = (await api.metrics()).total;
  const toSeed = { failed: options.seedFailed, completed: Math.max(0, options.seedTotal - options.seedFailed - existing) };
  log(`seeding ${toSeed.failed} failed and ${toSeed.completed} completed jobs (${existing} in the table)`);
  const forLatency = await seed(target, store, toSeed, options.jobs + retryJobs);
  log(`seeded in ${Math.round(forLatency.seeding.ms / 1000)} s, recounted in ${Math.round(forLatency.seeding.recountMs / 1000)} s`);

  log(`metrics and a failed page at ${existing + forLatency.seeding.jobs} jobs`);
  const latencyFull = await measureLatency(api, options.samples);

  log('floor again, on the full table');
  const floorAtEnd = await measureFloor(doc, TABLE_NAME, options.floorUpdates, C);

  return {
    floor,
    floorAtEnd,
    enqueue: { jobs: options.jobs, ms: enqueueMs, perSecond: perSecond(options.jobs, enqueueMs) },
    endToEnd: { jobs: options.jobs, ms: e2eMs, perSecond: perSecond(options.jobs, e2eMs) },
    seedingForRetries: forRetries.seeding,
    singleRetries: { jobs: singleIds.length, ms: singleMs, perSecond: perSecond(singleIds.length, singleMs) },
    retryAll: {
      jobs: retried,
      ms: retryAllMs,
      perSecond: perSecond(retried, retryAllMs),
      mode,
      total,
      failed: notRetried,
      allCompletedMs: allCompletedMs!,
      deadLettersSweptMs,
    },
    seedingForLatency: forLatency.seeding,
    latencyEmpty,
    latencyFull,
  };
};

const main = async (): Promise<void> => {
  const argv = process.argv.slice(2);
  if (argv.includes('--help')) {
    process.stdout.write(`${usage()}\n`);
    return;
  }
  const options = readOptions(argv, process.env, ROOT);
  const began = now();
  const machine = describeMachine();
  const date = new Date().toISOString();
  const [dynamoDb, sqs] = await freePorts();
  log(`starting the local runtime (dynalite on ${dynamoDb}, fauxqs on ${sqs})`);
  const runtime = await startLocalRuntime({ env: { DYNAMODB_PORT: String(dynamoDb), SQS_PORT: String(sqs) } });
  let figures: Awaited<ReturnType<typeof run>>;
  try {
    figures = await run(options, runtime, { dynamoDb, sqs });
    log('stopping the runtime');
    await runtime.interrupt();
  } catch (error) {
    await runtime.kill().catch(() => undefined);
    process.stderr.write(`The runtime's last output:\n${runtime.output().slice(-4000)}\n`);
    throw error;
  } finally {
    removeDataDir(runtime.dataDir);
  }

  log(`bundles: ${options.bundleRuns} cold import(s) per handler`);
  const bundles = await measureBundles({ runs: options.bundleRuns });
  machine.loadAtEnd = describeMachine().loadAtStart;

  const { out, ...sizes } = options;
  const results: BenchResults = {
    command: commandLine(argv, process.env),
    date,
    durationS: (now() - began) / 1000,
    machine,
    options: sizes,
    runtime: {
      startupMs: runtime.startupMs,
      workerConcurrency: process.env.REQUEUE_WORKER_CONCURRENCY ?? '2 (the runtime default)',
      recountedBySchedule: runtime.output().includes('Recounted jobs per state'),
    },
    ...figures,
    bundles,
  };
  let existing: string | undefined;
  try {
    existing = readFileSync(out, 'utf8');
  } catch {
    existing = undefined;
  }
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, formatReport(results, keptPart(existing)));
  for (const t of evaluateTargets(results)) log(`${t.pass ? 'PASS' : 'FAIL'}  ${t.name}: ${t.measured} (target ${t.target})`);
  log(`report written to ${path.relative(process.cwd(), out) || out}`);
};

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof BenchOptionsError ? error.message : ((error as Error).stack ?? String(error))}\n`);
  process.exitCode = 1;
});
