/**
 * `npm run bench`: the benchmark of issue 5, in one run against the local
 * runtime, every rate set against a floor measured in the same run.
 *
 *  1. `GET /jobs/metrics` and `GET /jobs/failed?limit=50` on the empty table
 *  2. the floor: conditional UpdateItems on the runtime's own dynalite
 *     (measured again before the retries and at the end; the fastest counts)
 *  3. enqueue N jobs at concurrency C; end-to-end until all completed
 *  4. seed failed jobs; retry some one request each, then all the rest with
 *     one retry-all, followed until its task is COMPLETED
 *  5. seed up to 100,000 jobs; the two calls of step 1 again
 *  6. the floor again, on the full table; retry-all's loop alone, run from
 *     the bench's process as the floor is; stop the runtime
 *  7. each handler's bundle size and cold-import time (bench/bundles.ts)
 *
 * and writes docs/BENCHMARKS.md. Sizes: `npm run bench -- --help`.
 */
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CreateQueueCommand, GetQueueAttributesCommand, GetQueueUrlCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDynamoDbClient, createSqsClient } from '../lambda/adapters/aws-clients';
import { DynamoDbDocuments } from '../lambda/adapters/dynamodb-documents';
import { DynamoDbJobStore } from '../lambda/adapters/dynamodb-job-store';
import { SqsJobQueue } from '../lambda/adapters/sqs-job-queue';
import type { Job } from '../lambda/core/job';
import { forEachFailedPage, retryPage } from '../lambda/core/retry-all-failed-jobs';
import { ROOT } from '../local/launcher';
import { removeDataDir, startLocalRuntime, type LocalRuntime } from '../local/launcher';
import { measureBundles } from './bundles';
import { findRuntimeProfiles, profilerPreload, summarizeProfiles } from './cpu-profile';
import { createFloorItems, FLOOR_ITEMS, measureFloor, type Floor, type FloorItems } from './floor';
import { measureJobWrites, measureRetryWrites } from './own-writes';
import { freePorts, now, perSecond, runConcurrently, timeCalls, waitFor } from './load';
import { BenchOptionsError, commandLine, readOptions, usage, type BenchOptions } from './options';
import { findRuntimePid, Phases } from './phases';
import {
  describeMachine,
  evaluateTargets,
  formatReport,
  keptPart,
  type BenchResults,
  type LatencyPair,
  type Seeding,
} from './report';
import { completedJob, failedJob, RETENTION_MS, seedJobs, type SeedTarget } from './seed';

/** As local/main.ts provisions them. */
const TABLE_NAME = 'requeue-jobs';
const DEAD_LETTER_QUEUE_NAME = 'requeue-jobs-dlq';
/** The failed page the bench times: GET /jobs/failed?limit=50. */
const PAGE = 50;

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

interface TableState {
  /** Some job is waiting, active or delayed. */
  readonly pending: boolean;
  readonly failed: boolean;
  /** Messages in the dead-letter queue, visible or not. */
  readonly deadLetters: number;
}

/**
 * Whether any job is still to run, read from the table itself with one-item
 * listings (a Query of each index shard, and the items they name), not from
 * the counters: counter changes a process buffers, or a recount that runs
 * while jobs move, can leave those off for a while, and a wait on them would
 * never end.
 */
const readTableState = async (store: DynamoDbJobStore, sqs: SQSClient, deadLetterQueueUrl: string): Promise<TableState> => {
  const [[waiting, active, delayed, failed], { Attributes = {} }] = await Promise.all([
    Promise.all((['waiting', 'active', 'delayed', 'failed'] as const).map((state) => store.listByState(state, 1))),
    sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: deadLetterQueueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
      }),
    ),
  ]);
  return {
    pending: waiting!.items.length + active!.items.length + delayed!.items.length > 0,
    failed: failed!.items.length > 0,
    deadLetters:
      Number(Attributes.ApproximateNumberOfMessages ?? 0) +
      Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0) +
      Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0),
  };
};
/** Generous: no phase should ever run slower than 20 jobs a second. */
const budgetFor = (jobs: number) => Math.max(60_000, jobs * 50);

/** Metrics and a failed page, `samples` calls each, once the runtime has fallen idle. */
const measureLatency = async (api: Api, phases: Phases, name: string, samples: number): Promise<LatencyPair> => {
  const settledMs = await phases.settle();
  return phases.time(name, async () => {
    const jobs = (await api.metrics()).total;
    const metrics = await timeCalls(samples, async () => void (await api.call('GET', '/jobs/metrics', 200)));
    const failedPage = await timeCalls(samples, async () => void (await api.call('GET', `/jobs/failed?limit=${PAGE}`, 200)));
    return { metrics, failedPage, jobs, settledMs };
  });
};

/**
 * Count the jobs and set the counters to the count. A recount declines when a
 * job moved while it counted (the worker may still be finishing a batch, the
 * reconciler flushing): try again a moment later.
 */
const recount = async (store: DynamoDbJobStore): Promise<Record<string, number>> => {
  for (let attempt = 1; ; attempt++) {
    const counts = await store.recount();
    if (counts) return counts;
    if (attempt === 20) throw new Error('the jobs kept moving: 20 recounts in a row declined');
    await sleep(500);
  }
};

/** Once the counters have stayed the same for 2 s: the table's stream has handed over every change so far. */
const streamSettled = async (store: DynamoDbJobStore): Promise<void> => {
  let last = '';
  let sameSince = now();
  for (;;) {
    const counts = JSON.stringify(await store.countByState());
    if (counts !== last) [last, sameSince] = [counts, now()];
    else if (now() - sameSince >= 2_000) return;
    await sleep(250);
  }
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
  // the stream counts the seeded items as they land: the recount waits for it, or it and the stream count them both
  await streamSettled(store);
  await recount(store);
  const recountMs = now() - recountStart;
  return {
    seeding: { jobs: counts.failed + counts.completed, failed: counts.failed, completed: counts.completed, ms, recountMs },
    failedIds: failed.map((job) => job.id),
  };
};

const retryAllFigures = (r: Awaited<ReturnType<typeof timeRetryAll>>) => ({
  jobs: r.retried,
  ms: r.ms,
  perSecond: perSecond(r.retried, r.ms),
  mode: r.mode,
  total: r.total,
  failed: r.notRetried,
});

/** `POST /jobs/retry-all-failed`, then its task followed until COMPLETED: the time from the request to the end. */
const timeRetryAll = (api: Api, phases: Phases, name: string, jobs: number) =>
  phases.time(
    name,
    async () => {
      const start = now();
      const answer = await api.raw('POST', '/jobs/retry-all-failed');
      if (answer.status === 200) {
        const { retriedCount, failedCount, total } = answer.body;
        return { mode: 'sync' as const, start, ms: now() - start, retried: retriedCount as number, notRetried: failedCount as number, total: total as number };
      }
      if (answer.status !== 202) throw new Error(`POST /jobs/retry-all-failed answered ${answer.status}: ${answer.text.slice(0, 500)}`);
      const taskId = answer.body.taskId as string;
      const task = await waitFor(
        () => api.call('GET', `/jobs/retry-tasks/${taskId}`, 200),
        (t) => t.status !== 'RUNNING',
        `retry task ${taskId} to finish`,
        budgetFor(jobs),
      );
      const ms = now() - start;
      if (task.status !== 'COMPLETED') throw new Error(`retry task ended ${task.status}: ${JSON.stringify(task)}`);
      return { mode: 'task' as const, start, ms, retried: task.retried as number, notRetried: task.failed as number, total: task.total as number };
    },
    jobs,
  );

/** The bench's own SDK clients, on a runtime's emulators, with throwaway credentials. */
const benchClients = async (options: BenchOptions, ports: { dynamoDb: number; sqs: number }) => {
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
  const target: SeedTarget = { doc, tableName: TABLE_NAME, sqs, deadLetterQueueUrl: deadLetterQueueUrl!, concurrency: options.concurrency };
  const tableState = () => readTableState(store, sqs, deadLetterQueueUrl!);
  // the floor's client: as cheap a request as the handlers' (their document layer, middleware cached)
  const floorDb = new DynamoDbDocuments();
  return { doc, floorDb, sqs, store, target, tableState, deadLetterQueueUrl: deadLetterQueueUrl! };
};

/** Every timed phase starts on an idle runtime: no compaction left over from a bulk load. */
const settle = async (phases: Phases): Promise<void> => {
  const waited = await phases.settle();
  if (waited > 5_000) log(`waited ${Math.round(waited / 1000)} s for the runtime to fall idle`);
};

const FLOOR_KINDS: readonly FloorItems[] = ['job', 'small'];

/** The floor on each kind of item, one after the other, each a phase of its own. */
const measureFloors = async (floorDb: DynamoDbDocuments, phases: Phases, options: BenchOptions, when: string): Promise<Floor[]> => {
  const floors: Floor[] = [];
  for (const items of FLOOR_KINDS) {
    await settle(phases);
    log(`floor (${when}, ${items} items): ${options.floorUpdates} conditional UpdateItems at C = ${options.concurrency}`);
    const floor = await phases.time(`floor (${when}): ${FLOOR_ITEMS[items]}`, () =>
      measureFloor(floorDb, TABLE_NAME, items, options.floorUpdates, options.concurrency, when),
    );
    log(`floor (${when}, ${items} items): ${Math.round(floor.perSecond)}/s`);
    floors.push(floor);
  }
  return floors;
};

/** The fastest floor of a kind: a floor slowed by a cold start or a busy moment flatters nothing. */
const fastestFloor = (floors: readonly Floor[], items: FloorItems): Floor =>
  floors.filter((f) => f.items === items).reduce((best, f) => (f.perSecond > best.perSecond ? f : best));

/**
 * The writes of a retry and of a job run end to end, each sent alone from the
 * bench (bench/own-writes.ts), after every timed figure of the paused runtime:
 * what its table allows those operations before requeue adds anything.
 */
const measureOwnWrites = async (options: BenchOptions, target: SeedTarget, phases: Phases, firstN: number) => {
  // the handlers' job store, on a client with cached middleware as theirs
  const store = new DynamoDbJobStore({ tableName: TABLE_NAME, retentionMs: RETENTION_MS });
  const failed: Job[] = [];
  const base = Date.now() - options.retryAll - 60_000;
  log(`seeding ${options.retryAll} failed jobs for a retry's write alone`);
  await seedJobs(target, options.retryAll, (i) => {
    const job = failedJob(firstN + i, base + i);
    failed.push(job);
    return job;
  });
  await settle(phases);
  const retry = await phases.time("a retry's write alone, from the bench", () =>
    measureRetryWrites(store, failed, options.concurrency),
  );
  log(`a retry's write alone: ${Math.round(retry.perSecond)}/s`);
  await settle(phases);
  const job = await phases.time("a job's three writes alone, from the bench", () =>
    measureJobWrites(store, options.jobs, options.concurrency, firstN + options.retryAll),
  );
  log(`a job's three writes alone: ${Math.round(job.perSecond)} jobs/s`);
  return { retry, job };
};

/**
 * Retry-all on its own: a second runtime, started with the worker paused
 * (REQUEUE_WORKER_CONCURRENCY=0), so that nothing runs beside the task but
 * what the floor has beside it. The floor is measured again on this runtime's
 * dynalite first; the retried jobs then wait in its queue, unrun.
 */
const runPaused = async (options: BenchOptions, runtime: LocalRuntime, ports: { dynamoDb: number; sqs: number }, phases: Phases) => {
  const api = new Api(runtime);
  const { doc, floorDb, store, target } = await benchClients(options, ports);
  await createFloorItems(doc, TABLE_NAME);
  // a fresh process: warm it up as the first runtime was by the time of its fastest floor,
  // with an untimed floor and an untimed retry-all of a tenth of the jobs
  log('warming the paused runtime up: an untimed floor and an untimed retry-all');
  for (const items of FLOOR_KINDS) await measureFloor(floorDb, TABLE_NAME, items, options.floorUpdates, options.concurrency, 'warm-up');
  const warmUp = Math.max(1, Math.round(options.retryAll / 10));
  await seed(target, store, { failed: warmUp, completed: 0 }, 0);
  await timeRetryAll(api, phases, 'warm-up: retry-all on the paused runtime (untimed)', warmUp);
  const floors = await measureFloors(floorDb, phases, options, 'on the paused runtime');
  log(`seeding ${options.retryAll} failed jobs`);
  const seeding = await seed(target, store, { failed: options.retryAll, completed: 0 }, warmUp);
  await phases.settle();
  log(`retry-all over ${options.retryAll} failed jobs, the worker paused`);
  const retryAll = await timeRetryAll(api, phases, 'retry-all, the worker paused (request → task COMPLETED)', options.retryAll);
  log(`retry-all, the worker paused (${retryAll.mode}): ${Math.round(perSecond(retryAll.retried, retryAll.ms))}/s`);
  const [left, waiting] = await Promise.all([store.listFailed({}, 1), store.listByState('waiting', 1)]);
  if (left.items.length > 0 || waiting.items.length === 0) throw new Error('the paused retry-all left a job failed, or none waiting');
  const ownWrites = await measureOwnWrites(options, target, phases, warmUp + options.retryAll);
  return {
    floors,
    seeding: seeding.seeding,
    retryAllPaused: retryAllFigures(retryAll),
    ownWrites,
  };
};

const run = async (
  options: BenchOptions,
  runtime: LocalRuntime,
  ports: { dynamoDb: number; sqs: number },
  phases: Phases,
) => {
  const C = options.concurrency;
  const api = new Api(runtime);

  const { doc, floorDb, sqs, store, target, tableState } = await benchClients(options, ports);

  log(`metrics and a failed page on the empty table, ${options.samples} calls each`);
  const latencyEmpty = await measureLatency(api, phases, 'metrics and a failed page, empty table', options.samples);

  // at 0 jobs the page is empty; a full page on a small table tells the cost of its 50 jobs from that of a large table
  log(`metrics and a failed page at ${PAGE} failed jobs`);
  await seed(target, store, { failed: PAGE, completed: 0 }, 0);
  const latencyOnePage = await measureLatency(api, phases, `metrics and a failed page, ${PAGE} failed jobs`, options.samples);
  await api.call('POST', '/jobs/retry-all-failed', 200);
  await waitFor(
    tableState,
    (t) => !t.pending && !t.failed && t.deadLetters === 0,
    `the ${PAGE} jobs of the page to be retried and complete`,
    budgetFor(PAGE),
  );

  await createFloorItems(doc, TABLE_NAME);
  const floors: Floor[] = [];
  const measureTheFloor = async (when: string) => {
    floors.push(...(await measureFloors(floorDb, phases, options, when)));
  };
  await measureTheFloor('at the start');

  await settle(phases);
  log(`enqueue ${options.jobs} demo.echo jobs at C = ${C}`);
  const endToEnd = phases.begin('end-to-end (first enqueue → all completed)', options.jobs);
  const e2eStart = now();
  const enqueueMs = await phases.time(
    'enqueue (the worker running beside it)',
    () =>
      runConcurrently(options.jobs, C, async (i) => {
        await api.call('POST', '/jobs', 201, { name: 'demo.echo', data: { n: i } });
      }),
    options.jobs,
  );
  log(`enqueue: ${Math.round(perSecond(options.jobs, enqueueMs))}/s; waiting for all to complete`);
  const done = await waitFor(tableState, (t) => !t.pending, `${options.jobs} jobs to finish`, budgetFor(options.jobs));
  const e2eMs = now() - e2eStart;
  endToEnd();
  if (done.failed) throw new Error(`demo.echo job(s) failed: ${JSON.stringify(await api.metrics())}`);
  log(`end-to-end: ${Math.round(perSecond(options.jobs, e2eMs))}/s`);

  const retryJobs = options.singleRetries + options.retryAll;
  log(`seeding ${retryJobs} failed jobs`);
  const forRetries = await seed(target, store, { failed: retryJobs, completed: 0 }, options.jobs);
  const seeded = await api.metrics();
  if (seeded.failed !== retryJobs) throw new Error(`expected ${retryJobs} failed jobs after seeding: ${JSON.stringify(seeded)}`);

  await measureTheFloor('before the retries');

  await settle(phases);
  log(`${options.singleRetries} single retries at C = ${C}`);
  const singleIds = forRetries.failedIds.slice(0, options.singleRetries);
  const singleMs = await phases.time(
    'single retries (the worker running beside them)',
    () =>
      runConcurrently(singleIds.length, C, async (i) => {
        await api.call('POST', `/jobs/retry/${singleIds[i]}`, 200);
      }),
    singleIds.length,
  );
  log(`single retries: ${Math.round(perSecond(singleIds.length, singleMs))}/s; waiting for them to complete`);
  await waitFor(tableState, (t) => !t.pending, 'the single retries to complete', budgetFor(options.singleRetries));

  await settle(phases);
  log(`retry-all over ${options.retryAll} failed jobs, the worker running the retried jobs beside it`);
  const retryAll = await timeRetryAll(api, phases, 'retry-all (request → task COMPLETED)', options.retryAll);
  const retryStart = retryAll.start;
  log(`retry-all (${retryAll.mode}): ${Math.round(perSecond(retryAll.retried, retryAll.ms))}/s; waiting for the jobs and the dead-letter sweep`);
  let allCompletedMs: number | undefined;
  await phases.time('after retry-all: the retried jobs completing, dead letters swept', () =>
    waitFor(
      tableState,
      (t) => {
        if (allCompletedMs === undefined && !t.pending && !t.failed) allCompletedMs = now() - retryStart;
        return allCompletedMs !== undefined && t.deadLetters === 0;
      },
      'the retried jobs to complete and the dead-letter queue to be swept',
      budgetFor(options.retryAll),
    ),
    options.retryAll,
  );
  const deadLettersSweptMs = now() - retryStart;

  // the truth, and counters set right by it, whatever a recount racing with the worker left them at
  const existing = Object.values(await recount(store)).reduce((sum, n) => sum + n, 0);
  const toSeed = { failed: options.seedFailed, completed: Math.max(0, options.seedTotal - options.seedFailed - existing) };
  log(`seeding ${toSeed.failed} failed and ${toSeed.completed} completed jobs (${existing} in the table)`);
  const forLatency = await seed(target, store, toSeed, options.jobs + retryJobs);
  log(`seeded in ${Math.round(forLatency.seeding.ms / 1000)} s, recounted in ${Math.round(forLatency.seeding.recountMs / 1000)} s`);

  log(`metrics and a failed page at ${existing + forLatency.seeding.jobs} jobs`);
  const latencyFull = await measureLatency(api, phases, 'metrics and a failed page, full table', options.samples);

  await measureTheFloor('at the end, on the full table');

  return {
    floors,
    enqueue: { jobs: options.jobs, ms: enqueueMs, perSecond: perSecond(options.jobs, enqueueMs) },
    endToEnd: { jobs: options.jobs, ms: e2eMs, perSecond: perSecond(options.jobs, e2eMs) },
    seedingForRetries: forRetries.seeding,
    singleRetries: { jobs: singleIds.length, ms: singleMs, perSecond: perSecond(singleIds.length, singleMs) },
    retryAll: { ...retryAllFigures(retryAll), allCompletedMs: allCompletedMs!, deadLettersSweptMs },
    seedingForLatency: forLatency.seeding,
    latencyEmpty,
    latencyOnePage,
    latencyFull,
  };
};

/**
 * The runtime runs in a process group of its own, so it outlives a bench that
 * is killed, or whose reader went away (a closed pipe), unless told: stop it
 * on a signal, and at the latest when this process exits.
 */
const stopRuntimeIfAbandoned = (runtime: LocalRuntime, runtimePid: number | undefined) => {
  // the group npm leads; read now, while the runtime is there to ask
  let group: number | undefined;
  try {
    group = runtimePid === undefined ? undefined : Number(readFileSync(`/proc/${runtimePid}/stat`, 'utf8').split(') ')[1]!.split(' ')[2]);
  } catch {
    group = undefined;
  }
  const killNow = () => {
    for (const target of [group === undefined ? undefined : -group, runtimePid]) {
      if (target === undefined) continue;
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`bench: ${signal}; stopping the runtime\n`);
    void runtime.kill().finally(() => process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGHUP' ? 1 : 15)));
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const signal of signals) process.on(signal, onSignal);
  process.on('exit', killNow);
  // a reader that went away must not crash the run half-way and strand the runtime
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  return {
    release: () => {
      for (const signal of signals) process.off(signal, onSignal);
      process.off('exit', killNow);
    },
  };
};

/** The commit, and what under lambda/ and local/ differs from it: the runtime runs the working tree. */
const codeState = (): BenchResults['code'] => {
  // not trimmed: a porcelain line starts with its status columns, a space among them
  const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' });
  try {
    const uncommitted = git('status', '--porcelain', '--', 'lambda', 'local')
      .split('\n')
      .filter(Boolean)
      .map((line) => line.slice(3));
    return { commit: git('rev-parse', 'HEAD').trim(), uncommitted };
  } catch {
    return { commit: 'unknown (not a git checkout)', uncommitted: [] };
  }
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
  const code = codeState();
  const [dynamoDb, sqs] = await freePorts();
  // each runtime is profiled into a folder of its own: the paused one's profiles would be taken for the first's
  const pausedProfileDir = options.cpuProf ? path.join(options.cpuProf, 'paused') : undefined;
  const profiling = (dir: string | undefined): Record<string, string> => {
    if (!dir) return {};
    mkdirSync(dir, { recursive: true });
    return { NODE_OPTIONS: [process.env.NODE_OPTIONS, profilerPreload(dir)].filter(Boolean).join(' ') };
  };
  log(`starting the local runtime (dynalite on ${dynamoDb}, fauxqs on ${sqs})${options.cpuProf ? ', profiled' : ''}`);
  const runtime = await startLocalRuntime({
    env: { DYNAMODB_PORT: String(dynamoDb), SQS_PORT: String(sqs), ...profiling(options.cpuProf) },
  });
  const runtimePid = findRuntimePid(dynamoDb);
  const phases = new Phases(runtimePid, options.cpuProf ? 0.4 : 0.1);
  const abandon = stopRuntimeIfAbandoned(runtime, runtimePid);
  let figures: Awaited<ReturnType<typeof run>>;
  try {
    figures = await run(options, runtime, { dynamoDb, sqs }, phases);
    log('stopping the runtime');
    await runtime.interrupt();
  } catch (error) {
    await runtime.kill().catch(() => undefined);
    process.stderr.write(`The runtime's last output:\n${runtime.output().slice(-4000)}\n`);
    throw error;
  } finally {
    abandon.release();
    removeDataDir(runtime.dataDir);
  }

  const pausedPorts = await freePorts();
  log(`starting a second runtime with the worker paused (dynalite on ${pausedPorts[0]}, fauxqs on ${pausedPorts[1]})`);
  const pausedRuntime = await startLocalRuntime({
    env: {
      DYNAMODB_PORT: String(pausedPorts[0]),
      SQS_PORT: String(pausedPorts[1]),
      REQUEUE_WORKER_CONCURRENCY: '0',
      ...profiling(pausedProfileDir),
    },
  });
  const pausedPid = findRuntimePid(pausedPorts[0]);
  const pausedPhases = new Phases(pausedPid, options.cpuProf ? 0.4 : 0.1);
  const abandonPaused = stopRuntimeIfAbandoned(pausedRuntime, pausedPid);
  let paused: Awaited<ReturnType<typeof runPaused>>;
  try {
    paused = await runPaused(options, pausedRuntime, { dynamoDb: pausedPorts[0], sqs: pausedPorts[1] }, pausedPhases);
    await pausedRuntime.interrupt();
  } catch (error) {
    await pausedRuntime.kill().catch(() => undefined);
    process.stderr.write(`The paused runtime's last output:\n${pausedRuntime.output().slice(-4000)}\n`);
    throw error;
  } finally {
    abandonPaused.release();
    removeDataDir(pausedRuntime.dataDir);
  }
  const floors = [...figures.floors, ...paused.floors];

  const profile =
    options.cpuProf && pausedProfileDir
      ? [
          ...summarizeProfiles(findRuntimeProfiles(options.cpuProf), phases.list),
          ...summarizeProfiles(findRuntimeProfiles(pausedProfileDir), pausedPhases.list),
        ]
      : undefined;

  log(`bundles: ${options.bundleRuns} cold import(s) per handler`);
  const bundles = await measureBundles({ runs: options.bundleRuns });
  machine.loadAtEnd = describeMachine().loadAtStart;

  const { out, cpuProf, ...sizes } = options;
  const results: BenchResults = {
    command: commandLine(argv, process.env),
    code,
    date,
    durationS: (now() - began) / 1000,
    machine,
    options: sizes,
    runtime: {
      startupMs: runtime.startupMs,
      workerConcurrency: process.env.REQUEUE_WORKER_CONCURRENCY ?? '2 (the runtime default)',
    },
    ...figures,
    floors,
    floor: fastestFloor(floors, 'job'),
    smallItemFloor: fastestFloor(floors, 'small'),
    retryAllPaused: paused.retryAllPaused,
    seedingForPaused: paused.seeding,
    ownWrites: paused.ownWrites,
    bundles,
    phases: [...phases.list, ...pausedPhases.list],
    ...(profile ? { profile } : {}),
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
