/**
 * `npm run bench`: the local speed targets, in one run against the local
 * runtime, each a ratio of two figures of that run.
 *
 *  1. on a runtime with its worker running: metrics and a failed page on the
 *     empty table and at one page of failed jobs; N jobs enqueued at
 *     concurrency C and followed until all completed; failed jobs seeded,
 *     some retried one request each, the rest by one retry-all; the table
 *     filled up to 100,000 jobs; metrics and a failed page again
 *  2. on a second runtime with its worker paused (nothing beside the task but
 *     the API and the emulators): one retry-all; then a retry's write and a
 *     job's three writes, each sent alone from the bench (bench/own-writes.ts),
 *     what dynalite allows those operations before requeue adds anything
 *  3. each handler's bundle size and cold import (bench/bundles.ts)
 *
 * Writes docs/BENCHMARKS.md, docs/benchmarks.json and docs/benchmarks.svg.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetQueueAttributesCommand, GetQueueUrlCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDynamoDbClient, createSqsClient } from '../lambda/adapters/aws-clients';
import { DynamoDbJobStore } from '../lambda/adapters/dynamodb-job-store';
import type { Job } from '../lambda/core/job';
import { removeDataDir, ROOT, signalGroup, startLocalRuntime, type LocalRuntime } from '../local/launcher';
import { formatBundles, measureBundles, type BundleReport } from './bundles';
import { findRuntimePid, freePorts, now, perSecond, runConcurrently, settle, timeCalls, waitFor, type Latency } from './load';
import { runBench, type Values } from './options';
import { measureJobWrites, measureRetryWrites, type OwnWrites } from './own-writes';
import { checkTarget, describeMachine, fixed, machineTable, table, targetChart, targetTable, writeReport, type Machine, type Target } from './report';
import { completedJob, failedJob, RETENTION_MS, seedJobs, type SeedTarget } from './seed';

const KNOBS = {
  concurrency: { env: 'BENCH_CONCURRENCY', fallback: 16, help: 'requests in flight (C), for every load of the bench' },
  jobs: { env: 'BENCH_JOBS', fallback: 5_000, help: 'jobs enqueued (N), and run by their writes alone' },
  retryAll: { env: 'BENCH_RETRY_ALL', fallback: 10_000, help: 'failed jobs for one retry-all' },
  singleRetries: { env: 'BENCH_SINGLE_RETRIES', fallback: 1_000, help: 'failed jobs retried one by one' },
  seedTotal: { env: 'BENCH_SEED_TOTAL', fallback: 100_000, help: 'jobs in the table for the second latency figures' },
  seedFailed: { env: 'BENCH_SEED_FAILED', fallback: 50_000, help: 'of which failed' },
  samples: { env: 'BENCH_SAMPLES', fallback: 50, help: 'calls per latency median' },
  bundleRuns: { env: 'BENCH_BUNDLE_RUNS', fallback: 7, help: 'cold imports per handler' },
  out: { env: 'BENCH_OUT', fallback: 'docs/BENCHMARKS.md', help: "the page's path; the JSON and SVG go beside it" },
};
type Options = Omit<Values<typeof KNOBS>, 'out'>;

/** As local/main.ts provisions them. */
const TABLE_NAME = 'requeue-jobs';
const DEAD_LETTER_QUEUE_NAME = 'requeue-jobs-dlq';
/** The failed page timed: GET /jobs/failed?limit=50. */
const PAGE = 50;

interface Rate {
  readonly jobs: number;
  readonly ms: number;
  readonly perSecond: number;
}
interface RetryAll extends Rate {
  /** A background task (202) or at once (200). */
  readonly mode: 'task' | 'sync';
  readonly total: number;
  readonly failed: number;
}
interface Seeding {
  readonly jobs: number;
  readonly failed: number;
  readonly completed: number;
  readonly ms: number;
}
interface LatencyPair {
  readonly metrics: Latency;
  readonly failedPage: Latency;
  /** Jobs in the table (metrics' total) while measured. */
  readonly jobs: number;
}

const log = (message: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
const rate = (jobs: number, ms: number): Rate => ({ jobs, ms, perSecond: perSecond(jobs, ms) });
/** Generous: no phase should ever run slower than 20 jobs a second. */
const budgetFor = (jobs: number) => Math.max(60_000, jobs * 50);

const call = async (runtime: LocalRuntime, method: string, route: string, expected: number, body?: unknown): Promise<any> => {
  const answer = await runtime.request(method, route, body);
  if (answer.status !== expected) throw new Error(`${method} ${route} answered ${answer.status} (expected ${expected}): ${answer.text.slice(0, 500)}`);
  return answer.body;
};

/** The bench's own SDK clients on a runtime's emulators, with throwaway credentials. */
const benchClients = async (concurrency: number, ports: readonly [number, number]) => {
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_SESSION_TOKEN;
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${ports[0]}`,
    AWS_ENDPOINT_URL_SQS: `http://127.0.0.1:${ports[1]}`,
  });
  // the SDK's notice about its future Node.js support is noise here, as in the runtime
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const client = createDynamoDbClient();
  const sqs = createSqsClient();
  const store = new DynamoDbJobStore({ tableName: TABLE_NAME, retentionMs: RETENTION_MS, client });
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: DEAD_LETTER_QUEUE_NAME }));
  const target: SeedTarget = { doc, tableName: TABLE_NAME, sqs, deadLetterQueueUrl: QueueUrl!, concurrency };
  return { store, target, tableState: () => readTableState(store, sqs, QueueUrl!) };
};

/**
 * Whether a job is still to run, read from the table (one-item listings of
 * each state's index shards), not from the counters, which a recount racing
 * with the worker can leave off for a while; and the dead-letter messages.
 */
const readTableState = async (store: DynamoDbJobStore, sqs: SQSClient, deadLetterQueueUrl: string) => {
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
    deadLetters: Object.values(Attributes).reduce((sum, n) => sum + Number(n ?? 0), 0),
  };
};

/** Count the jobs and set the counters to the count; a recount declines while jobs move, so try again. */
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
  let [last, sameSince] = ['', now()];
  while (now() - sameSince < 2_000) {
    const counts = JSON.stringify(await store.countByState());
    if (counts !== last) [last, sameSince] = [counts, now()];
    await sleep(250);
  }
};

/** Completed, then failed jobs written straight into the table (bench/seed.ts), then counted. */
const seed = async (target: SeedTarget, store: DynamoDbJobStore, counts: { failed: number; completed: number }, firstN: number) => {
  const base = Date.now() - counts.failed - counts.completed - 60_000;
  const start = now();
  await seedJobs(target, counts.completed, (i) => completedJob(firstN + i, base + i));
  const failed = await seedJobs(target, counts.failed, (i) => failedJob(firstN + counts.completed + i, base + counts.completed + i));
  const ms = now() - start;
  // the stream counts the seeded items as they land: the recount waits for it, or it and the stream count them both
  await streamSettled(store);
  await recount(store);
  return { seeding: { jobs: counts.failed + counts.completed, ...counts, ms } as Seeding, failedIds: failed.map((job) => job.id) };
};

/** `POST /jobs/retry-all-failed`, then its task followed until COMPLETED: from the request to the end. */
const timeRetryAll = async (runtime: LocalRuntime, jobs: number): Promise<RetryAll> => {
  const start = now();
  const answer = await runtime.request('POST', '/jobs/retry-all-failed');
  if (answer.status === 200) {
    const { retriedCount, failedCount, total } = answer.body;
    return { ...rate(retriedCount, now() - start), mode: 'sync', total, failed: failedCount };
  }
  if (answer.status !== 202) throw new Error(`POST /jobs/retry-all-failed answered ${answer.status}: ${answer.text.slice(0, 500)}`);
  const route = `/jobs/retry-tasks/${answer.body.taskId}`;
  const task = await waitFor(() => call(runtime, 'GET', route, 200), (t) => t.status !== 'RUNNING', `${route} to finish`, budgetFor(jobs));
  if (task.status !== 'COMPLETED') throw new Error(`retry task ended ${task.status}: ${JSON.stringify(task)}`);
  return { ...rate(task.retried, now() - start), mode: 'task', total: task.total, failed: task.failed };
};

/** Metrics and a failed page, `samples` calls each, once the runtime has fallen idle. */
const measureLatency = async (runtime: LocalRuntime, pid: number | undefined, samples: number): Promise<LatencyPair> => {
  await settle(pid);
  const jobs = (await call(runtime, 'GET', '/jobs/metrics', 200)).total as number;
  const metrics = await timeCalls(samples, async () => void (await call(runtime, 'GET', '/jobs/metrics', 200)));
  const failedPage = await timeCalls(samples, async () => void (await call(runtime, 'GET', `/jobs/failed?limit=${PAGE}`, 200)));
  return { metrics, failedPage, jobs };
};

const runWithWorker = async (o: Options, runtime: LocalRuntime, ports: readonly [number, number], pid: number | undefined) => {
  const { store, target, tableState } = await benchClients(o.concurrency, ports);
  const drained = (what: string, jobs: number) =>
    waitFor(tableState, (t) => !t.pending && !t.failed && t.deadLetters === 0, what, budgetFor(jobs));

  log(`metrics and a failed page on the empty table, ${o.samples} calls each`);
  const latencyEmpty = await measureLatency(runtime, pid, o.samples);
  // at 0 jobs the page is empty; a full page on a small table tells the cost of its 50 jobs from that of a large table
  await seed(target, store, { failed: PAGE, completed: 0 }, 0);
  const latencyOnePage = await measureLatency(runtime, pid, o.samples);
  await call(runtime, 'POST', '/jobs/retry-all-failed', 200);
  await drained(`the ${PAGE} jobs of the page to be retried and complete`, PAGE);

  await settle(pid);
  log(`enqueue ${o.jobs} demo.echo jobs at C = ${o.concurrency}; end-to-end until all completed`);
  const start = now();
  const enqueueMs = await runConcurrently(o.jobs, o.concurrency, async (i) => {
    await call(runtime, 'POST', '/jobs', 201, { name: 'demo.echo', data: { n: i } });
  });
  const done = await waitFor(tableState, (t) => !t.pending, `${o.jobs} jobs to finish`, budgetFor(o.jobs));
  const endToEnd = rate(o.jobs, now() - start);
  if (done.failed) throw new Error('a demo.echo job failed');

  const retryJobs = o.singleRetries + o.retryAll;
  log(`seeding ${retryJobs} failed jobs; ${o.singleRetries} single retries at C = ${o.concurrency}`);
  const forRetries = await seed(target, store, { failed: retryJobs, completed: 0 }, o.jobs);
  const singleIds = forRetries.failedIds.slice(0, o.singleRetries);
  await settle(pid);
  const singleMs = await runConcurrently(singleIds.length, o.concurrency, async (i) => {
    await call(runtime, 'POST', `/jobs/retry/${singleIds[i]}`, 200);
  });
  await waitFor(tableState, (t) => !t.pending, 'the single retries to complete', budgetFor(o.singleRetries));

  await settle(pid);
  log(`retry-all over ${o.retryAll} failed jobs, the worker running the retried jobs beside it`);
  const retryAll = await timeRetryAll(runtime, o.retryAll);
  await drained('the retried jobs to complete and the dead-letter queue to be swept', o.retryAll);

  const existing = Object.values(await recount(store)).reduce((sum, n) => sum + n, 0);
  const toSeed = { failed: o.seedFailed, completed: Math.max(0, o.seedTotal - o.seedFailed - existing) };
  log(`seeding ${toSeed.failed} failed and ${toSeed.completed} completed jobs (${existing} in the table); latency again`);
  const forLatency = await seed(target, store, toSeed, o.jobs + retryJobs);
  const latencyFull = await measureLatency(runtime, pid, o.samples);
  return {
    enqueue: rate(o.jobs, enqueueMs),
    endToEnd,
    seedingForRetries: forRetries.seeding,
    singleRetries: rate(singleIds.length, singleMs),
    retryAll,
    seedingForLatency: forLatency.seeding,
    latencyEmpty,
    latencyOnePage,
    latencyFull,
  };
};

const runPaused = async (o: Options, runtime: LocalRuntime, ports: readonly [number, number], pid: number | undefined) => {
  const { store, target } = await benchClients(o.concurrency, ports);
  // a fresh process: warmed up by an untimed retry-all of a tenth as many jobs, as the first one was by its work
  const warmUp = Math.max(1, Math.round(o.retryAll / 10));
  await seed(target, store, { failed: warmUp, completed: 0 }, 0);
  await timeRetryAll(runtime, warmUp);
  const seeding = await seed(target, store, { failed: o.retryAll, completed: 0 }, warmUp);
  await settle(pid);
  log(`retry-all over ${o.retryAll} failed jobs, the worker paused`);
  const retryAllPaused = await timeRetryAll(runtime, o.retryAll);
  const [left, waiting] = await Promise.all([store.listFailed({}, 1), store.listByState('waiting', 1)]);
  if (left.items.length > 0 || waiting.items.length === 0) throw new Error('the paused retry-all left a job failed, or none waiting');

  // the handlers' job store, on a client with cached middleware as theirs
  const ownStore = new DynamoDbJobStore({ tableName: TABLE_NAME, retentionMs: RETENTION_MS });
  const failed: Job[] = [];
  const firstN = warmUp + o.retryAll;
  await seedJobs(target, o.retryAll, (i) => {
    const job = failedJob(firstN + i, Date.now() - 60_000 + i);
    failed.push(job);
    return job;
  });
  await settle(pid);
  log("a retry's write and a job's three writes, each alone from the bench");
  const retry = await measureRetryWrites(ownStore, failed, o.concurrency);
  await settle(pid);
  const job = await measureJobWrites(ownStore, o.jobs, o.concurrency, firstN + o.retryAll);
  return { retryAllPaused, seedingForPaused: seeding.seeding, ownWrites: { retry, job } };
};

/**
 * One runtime through `work`: stopped on success, killed on failure, and
 * killed if the bench is (its process group outlives the bench otherwise).
 */
const withRuntime = async <T>(env: Record<string, string>, work: (runtime: LocalRuntime, ports: readonly [number, number], pid: number | undefined) => Promise<T>) => {
  const ports = await freePorts();
  const runtime = await startLocalRuntime({ env: { DYNAMODB_PORT: String(ports[0]), SQS_PORT: String(ports[1]), ...env } });
  const killNow = () => signalGroup(runtime.pgid, 'SIGKILL');
  const onSignal = (signal: NodeJS.Signals) => {
    killNow();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const signal of signals) process.on(signal, onSignal);
  process.on('exit', killNow);
  try {
    const figures = await work(runtime, ports, findRuntimePid(ports[0]));
    await runtime.interrupt();
    return { figures, startupMs: runtime.startupMs };
  } catch (error) {
    await runtime.kill().catch(() => undefined);
    process.stderr.write(`The runtime's last output:\n${runtime.output().slice(-4000)}\n`);
    throw error;
  } finally {
    for (const signal of signals) process.off(signal, onSignal);
    process.off('exit', killNow);
    removeDataDir(runtime.dataDir);
  }
};

type Figures = Awaited<ReturnType<typeof runWithWorker>> & Awaited<ReturnType<typeof runPaused>>;

const pct = (ratio: number) => `${fixed(ratio * 100, 1)}%`;
const perS = (r: { perSecond: number }) => `${fixed(r.perSecond)}/s`;

export const evaluateTargets = (r: Figures): Target[] => {
  const full = `${fixed(r.latencyFull.jobs)} jobs vs at ${fixed(r.latencyEmpty.jobs)}`;
  const ms = (a: Latency, b: Latency) => `${a.medianMs} ms / ${b.medianMs} ms`;
  const latency = (what: string, short: string, pick: (p: LatencyPair) => Latency) => {
    const ratio = pick(r.latencyFull).medianMs / pick(r.latencyEmpty).medianMs;
    const measured = `${ms(pick(r.latencyFull), pick(r.latencyEmpty))} = ${fixed(ratio, 2)}×`;
    return checkTarget({ name: `${what} at ${full}`, short, target: '≤ 1.5×', measured, ratio, threshold: 1.5, atLeast: false });
  };
  const share = (name: string, short: string, of: Rate, alone: OwnWrites, threshold: number, target: string) => {
    const ratio = of.perSecond / alone.perSecond;
    return checkTarget({ name, short, target, measured: `${perS(of)} / ${perS(alone)} = ${pct(ratio)}`, ratio, threshold, atLeast: true });
  };
  const loop = r.retryAll.perSecond / r.singleRetries.perSecond;
  return [
    share(`retry-all of ${fixed(r.retryAllPaused.jobs)} failed jobs (the worker paused) vs a retry's write alone`, "retry-all / a retry's write", r.retryAllPaused, r.ownWrites.retry, 0.9, "≥ 90% of a retry's write alone"),
    share('end-to-end (enqueue → completed) vs a job\'s three writes alone', "end-to-end / a job's writes", r.endToEnd, r.ownWrites.job, 0.85, "≥ 85% of a job's three writes alone"),
    checkTarget({
      name: 'loop of single retries vs retry-all (the worker running in both)',
      short: 'retry-all / single retries',
      target: 'loop ≥ 3× slower',
      measured: `${perS(r.retryAll)} / ${perS(r.singleRetries)} = ${fixed(loop, 2)}×`,
      ratio: loop,
      threshold: 3,
      atLeast: true,
    }),
    latency('GET /jobs/metrics', 'metrics, full / empty', (p) => p.metrics),
    latency(`GET /jobs/failed?limit=${PAGE}`, 'failed page, full / empty', (p) => p.failedPage),
  ];
};

interface Results extends Figures {
  readonly command: string;
  /** The commit measured, and the files under lambda/ and local/ that differed from it (the runtime runs the working tree). */
  readonly code: { readonly commit: string; readonly uncommitted: readonly string[] };
  readonly date: string;
  readonly durationS: number;
  readonly machine: Machine;
  readonly options: Options;
  readonly runtime: { readonly startupMs: number; readonly workerConcurrency: string };
  readonly bundles: BundleReport;
  readonly targets: readonly Target[];
}

const codeState = (): Results['code'] => {
  // not trimmed: a porcelain line starts with its status columns, a space among them
  const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' });
  try {
    const uncommitted = git('status', '--porcelain', '--', 'lambda', 'local').split('\n').filter(Boolean).map((line) => line.slice(3));
    return { commit: git('rev-parse', 'HEAD').trim(), uncommitted };
  } catch {
    return { commit: 'unknown (not a git checkout)', uncommitted: [] };
  }
};

const formatPage = (r: Results): string => {
  const passed = r.targets.filter((t) => t.pass).length;
  const o = r.options;
  const row = (what: string, f: Rate) => [what, fixed(f.jobs), `${fixed(f.ms / 1000, 2)} s`, perS(f)];
  const latencyRow = (what: string, l: Latency) => [what, `${l.medianMs} ms`, `${l.p90Ms} ms`, `${l.minMs}–${l.maxMs} ms`];
  const changes = r.code.uncommitted.length > 0 ? ` with uncommitted changes to ${r.code.uncommitted.map((f) => `\`${f}\``).join(', ')}` : '';
  return [
    '# Benchmarks',
    '',
    `Made by \`${r.command}\` on ${r.date} (${fixed(r.durationS)} s), at commit \`${r.code.commit.slice(0, 10)}\`${changes}: one run against`,
    'the local runtime (`npm start`: dynalite, fauxqs, the API Gateway and SQS event-source emulations and every handler',
    'in one Node.js process), on the machine below. The rates are of this machine, not of AWS; each target is a ratio of',
    "two figures of the run. dynalite is the floor locally, so the rates are set against the writes each operation",
    'cannot do without, sent alone from the bench (`bench/own-writes.ts`) on the runtime whose worker is paused.',
    `Sizes: ${fixed(o.jobs)} jobs enqueued, ${fixed(o.singleRetries)} single retries, ${fixed(o.retryAll)} jobs a retry-all, ${fixed(o.seedTotal)} jobs (${fixed(o.seedFailed)} failed)`,
    `for the second latency figures, ${o.samples} calls a median, C = ${o.concurrency} (\`npm run bench -- --help\` lists the flags).`,
    '',
    `## Targets: ${passed} of ${r.targets.length} pass`,
    '',
    ...targetTable(r.targets),
    '',
    '![each target: its measured ratio and its threshold](benchmarks.svg)',
    '',
    '## Figures',
    '',
    ...table([
      ['figure', 'jobs', 'time', 'rate'],
      row(`enqueue: \`POST /jobs\` (\`demo.echo\`), C = ${o.concurrency}, the worker running`, r.enqueue),
      row('end-to-end: first enqueue → no job left to run in the table', r.endToEnd),
      row(`single retries: \`POST /jobs/retry/{id}\`, C = ${o.concurrency}, the worker running`, r.singleRetries),
      row(`retry-all, the worker running: request → ${r.retryAll.mode === 'task' ? 'task COMPLETED' : '200'}`, r.retryAll),
      row(`retry-all, the worker paused (second runtime): request → ${r.retryAllPaused.mode === 'task' ? 'task COMPLETED' : '200'}`, r.retryAllPaused),
      row(`a retry's write alone: \`claimRetry\`'s conditional UpdateItem, C = ${o.concurrency}`, r.ownWrites.retry),
      row(`a job's three writes alone: its PutItem, the claim, the completion, C = ${o.concurrency}`, r.ownWrites.job),
    ]),
    '',
    `Latency: median of ${o.samples} calls one after another (after 5 untimed), each set once the runtime's process had fallen`,
    'idle (LevelDB compacts after a bulk load). At 0 jobs the page is empty; the middle rows tell what the 50 jobs of',
    "a page cost from what the table's size costs.",
    '',
    ...table([
      ['call', 'median', 'p90', 'min–max'],
      ...(['metrics', 'failedPage'] as const).flatMap((k) =>
        (['latencyEmpty', 'latencyOnePage', 'latencyFull'] as const).map((at) =>
          latencyRow(`\`GET /jobs/${k === 'metrics' ? 'metrics' : `failed?limit=${PAGE}`}\`, ${fixed(r[at].jobs)} jobs`, r[at][k]),
        ),
      ),
    ]),
    '',
    '## Bundles',
    '',
    ...formatBundles(r.bundles),
    '',
    '## Machine',
    '',
    ...machineTable(r.machine),
    '',
    `Worker pollers: ${r.runtime.workerConcurrency}; runtime ready in ${fixed(r.runtime.startupMs)} ms. Raw figures: [benchmarks.json](benchmarks.json).`,
    '',
  ].join('\n');
};

runBench('bench', KNOBS, async ({ out, ...sizes }, command) => {
  if (sizes.seedFailed > sizes.seedTotal) throw new Error(`--seed-failed (${sizes.seedFailed}) cannot exceed --seed-total (${sizes.seedTotal}).`);
  const began = now();
  const [machine, date, code] = [describeMachine(), new Date().toISOString(), codeState()];
  log('starting the local runtime, its worker running');
  const first = await withRuntime({}, (runtime, ports, pid) => runWithWorker(sizes, runtime, ports, pid));
  log('starting a second runtime, its worker paused');
  const paused = await withRuntime({ REQUEUE_WORKER_CONCURRENCY: '0' }, (runtime, ports, pid) => runPaused(sizes, runtime, ports, pid));
  log(`bundles: ${sizes.bundleRuns} cold import(s) per handler`);
  const bundles = await measureBundles(sizes.bundleRuns);
  machine.loadAtEnd = describeMachine().loadAtStart;
  const figures: Figures = { ...first.figures, ...paused.figures };
  const targets = evaluateTargets(figures);
  const results: Results = {
    command,
    code,
    date,
    durationS: (now() - began) / 1000,
    machine,
    options: sizes,
    runtime: { startupMs: first.startupMs, workerConcurrency: process.env.REQUEUE_WORKER_CONCURRENCY ?? '2 (the runtime default)' },
    ...figures,
    bundles,
    targets,
  };
  const file = path.resolve(ROOT, out);
  writeReport(file, formatPage(results), {
    keep: true,
    beside: { 'benchmarks.json': `${JSON.stringify(results, null, 2)}\n`, 'benchmarks.svg': targetChart(targets) },
  });
  for (const t of targets) log(`${t.pass ? 'PASS' : 'FAIL'}  ${t.name}: ${t.measured} (target ${t.target})`);
  log(`report written to ${path.relative(process.cwd(), file) || file}`);
});
