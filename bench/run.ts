// `npm run bench`: five speed targets, each a ratio of two figures of one run. A local runtime with its worker running
// times the API's latency at three table sizes, enqueue to completion, single retries and a retry-all; a second one, its
// worker paused, a retry-all and the writes a retry and a job cannot do without, sent alone from the bench. Then bundles.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbJobStore } from '../lambda/adapters/dynamodb-job-store';
import { claimRetry } from '../lambda/core/retry-failed-job';
import { moveToCompleted } from '../lambda/core/transitions';
import { removeDataDir, ROOT, signalGroup, startLocalRuntime, type LocalRuntime } from '../local/launcher';
import { formatBundles, measureBundles } from './bundles';
import { freePorts, now, perSecond, runConcurrently, settle, timeCalls, waitFor } from './load';
import { runBench, type Values } from './options';
import { describeMachine, fixed, machineTable, table, targetChart, writeReport, type Target } from './report';
import { completedJob, failedJob, LEASE_MS, newJob, RETENTION_MS, SEEDED_JOB_NAME as JOB_NAME, seedJobs } from './seed';

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
/** As local/main.ts provisions them; the failed page timed is GET /jobs/failed?limit=50. */
const [TABLE_NAME, DEAD_LETTER_QUEUE_NAME, PAGE] = ['requeue-jobs', 'requeue-jobs-dlq', 50];
const TIMED = { metrics: '/jobs/metrics', failedPage: `/jobs/failed?limit=${PAGE}` } as const;
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'; // the SDK's notice of its future Node.js support is noise here

const log = (message: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
const rate = (jobs: number, ms: number) => ({ jobs, ms, perSecond: perSecond(jobs, ms) });
const budgetFor = (jobs: number) => Math.max(60_000, jobs * 50); // generous: no phase should run slower than 20 jobs a second

const benchOn = async (runtime: LocalRuntime, [dynamoDbPort, sqsPort]: readonly number[], o: Options) => {
  const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  const config = (port: number) => ({ region: 'us-east-1', endpoint: `http://127.0.0.1:${port}`, credentials });
  // on a client with cached middleware, as the handlers' store is; lib-dynamodb's DocumentClient refuses one
  const client = new DynamoDBClient({ ...config(dynamoDbPort), cacheMiddleware: true });
  const store = new DynamoDbJobStore({ tableName: TABLE_NAME, retentionMs: RETENTION_MS, client });
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient(config(dynamoDbPort)), { marshallOptions: { removeUndefinedValues: true } });
  const sqs = new SQSClient({ ...config(sqsPort), useQueueUrlAsEndpoint: false });
  const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: DEAD_LETTER_QUEUE_NAME }));
  const target = { doc, sqs, tableName: TABLE_NAME, deadLetterQueueUrl: QueueUrl!, concurrency: o.concurrency };
  const call = async (method: string, route: string, expected: number, body?: unknown) => {
    const answer = await runtime.request(method, route, body);
    if (answer.status === expected) return answer.body;
    throw new Error(`${method} ${route} answered ${answer.status} (expected ${expected}): ${answer.text.slice(0, 500)}`);
    return answer.body;
  };
  const listed = async (state: 'waiting' | 'active' | 'delayed' | 'failed') => (await store.listByState(state, 1)).items.length > 0;
  /** No job left to run (with `swept`, none failed and no dead letter either), read from one-item listings, not the counters. */
  const drained = (what: string, jobs: number, swept = true) => {
    const read = async () => {
      const [waiting, active, delayed, failed] = await Promise.all([listed('waiting'), listed('active'), listed('delayed'), listed('failed')]);
      const dead = swept ? (await call('GET', '/jobs/metrics', 200)).queues.deadLetter : {};
      return { pending: waiting || active || delayed, failed, deadLetters: Object.values<number>(dead).reduce((sum, n) => sum + n, 0) };
    };
    return waitFor(read, (t) => !t.pending && (!swept || (!t.failed && t.deadLetters === 0)), what, budgetFor(jobs));
  };
  const seed = async ({ failed = 0, completed = 0 }, firstN: number) => {
    const base = Date.now() - failed - completed - 60_000;
    const start = now();
    const make = (i: number) => (i < completed ? completedJob : failedJob)(firstN + i, base + i);
    const jobs = (await seedJobs(target, completed + failed, make)).slice(completed);
    const ms = now() - start;
    // the stream counts the seeded items as they land: the recount waits until the counters stay put for 2 s, or both count them
    for (let [last, since] = ['', now()]; now() - since < 2_000; await sleep(250)) {
      const counts = JSON.stringify(await store.countByState());
      if (counts !== last) [last, since] = [counts, now()];
    }
    // a recount declines while jobs move: try again
    const counted = (counts: unknown) => counts !== undefined;
    await waitFor(() => store.recount(), counted, 'the jobs to stop moving for a recount', budgetFor(failed + completed), 500);
    return { seeding: { jobs: failed + completed, failed, completed, ms }, jobs };
  };
  /** `POST /jobs/retry-all-failed`, its task (if it made one) followed until COMPLETED: from the request to the end. */
  const retryAll = async (jobs: number) => {
    const [start, { status, body, text }] = [now(), await runtime.request('POST', '/jobs/retry-all-failed')];
    if (status === 200) return { ...rate(body.retriedCount, now() - start), mode: 'sync', total: body.total, failed: body.failedCount };
    if (status !== 202) throw new Error(`POST /jobs/retry-all-failed answered ${status}: ${text.slice(0, 500)}`);
    const route = `/jobs/retry-tasks/${body.taskId}`;
    const task = await waitFor(() => call('GET', route, 200), (t) => t.status !== 'RUNNING', `${route} to finish`, budgetFor(jobs));
    if (task.status !== 'COMPLETED') throw new Error(`retry task ended ${task.status}: ${JSON.stringify(task)}`);
    return { ...rate(task.retried, now() - start), mode: 'task', total: task.total, failed: task.failed };
  };
  /** Metrics and a failed page, `samples` calls each, once the runtime has fallen idle; `jobs`: metrics' total meanwhile. */
  const latency = async () => {
    await settle(runtime.pgid);
    const jobs: number = (await call('GET', TIMED.metrics, 200)).total;
    const timed = (route: string) => timeCalls(o.samples, () => call('GET', route, 200));
    return { metrics: await timed(TIMED.metrics), failedPage: await timed(TIMED.failedPage), jobs };
  };
  const phase = (what: string) => settle(runtime.pgid).then(() => log(what));
  const concurrently = (count: number, fn: (i: number) => Promise<unknown>) => runConcurrently(count, o.concurrency, fn);
  return { store, call, listed, drained, seed, retryAll, latency, phase, concurrently };
};
type Bench = Awaited<ReturnType<typeof benchOn>>;

const runWithWorker = async (b: Bench, o: Options) => {
  const latencyEmpty = await b.latency();
  // at 0 jobs the page is empty; a full page on a small table tells the cost of its 50 jobs from that of a large table
  await b.seed({ failed: PAGE }, 0);
  const latencyOnePage = await b.latency();
  await b.call('POST', '/jobs/retry-all-failed', 200);
  await b.drained(`the ${PAGE} jobs of the page to be retried and complete`, PAGE);

  await b.phase(`enqueue ${o.jobs} ${JOB_NAME} jobs at C = ${o.concurrency}; end-to-end until all completed`);
  const start = now();
  const enqueue = rate(o.jobs, await b.concurrently(o.jobs, (i) => b.call('POST', '/jobs', 201, { name: JOB_NAME, data: { n: i } })));
  if ((await b.drained(`${o.jobs} jobs to finish`, o.jobs, false)).failed) throw new Error(`a ${JOB_NAME} job failed`);
  const endToEnd = rate(o.jobs, now() - start);

  const retryJobs = o.singleRetries + o.retryAll;
  const { seeding: seedingForRetries, jobs } = await b.seed({ failed: retryJobs }, o.jobs);
  await b.phase(`${o.singleRetries} single retries of ${retryJobs} failed jobs at C = ${o.concurrency}`);
  const singleRetries = rate(o.singleRetries, await b.concurrently(o.singleRetries, (i) => b.call('POST', `/jobs/retry/${jobs[i]!.id}`, 200)));
  await b.drained('the single retries to complete', o.singleRetries, false);
  await b.phase(`retry-all over ${o.retryAll} failed jobs, the worker running the retried jobs beside it`);
  const retryAll = await b.retryAll(o.retryAll);
  await b.drained('the retried jobs to complete and the dead-letter queue to be swept', o.retryAll);

  // every job so far is retained: the table is filled up to seedTotal
  const completed = Math.max(0, o.seedTotal - o.seedFailed - (PAGE + o.jobs + retryJobs));
  const { seeding: seedingForLatency } = await b.seed({ failed: o.seedFailed, completed }, o.jobs + retryJobs);
  const latencyFull = await b.latency();
  return { enqueue, endToEnd, seedingForRetries, singleRetries, retryAll, seedingForLatency, latencyEmpty, latencyOnePage, latencyFull };
};

const runPaused = async (b: Bench, o: Options) => {
  // a fresh process: warmed up by an untimed retry-all of a tenth as many jobs, as the first one was by its work
  const warmUp = Math.max(1, Math.round(o.retryAll / 10));
  await b.seed({ failed: warmUp }, 0);
  await b.retryAll(warmUp);
  const { seeding: seedingForPaused } = await b.seed({ failed: o.retryAll }, warmUp);
  await b.phase(`retry-all over ${o.retryAll} failed jobs, the worker paused`);
  const retryAllPaused = await b.retryAll(o.retryAll);
  if ((await b.listed('failed')) || !(await b.listed('waiting'))) throw new Error('the paused retry-all left a job failed, or none waiting');

  const { jobs: failed } = await b.seed({ failed: o.retryAll }, warmUp + o.retryAll);
  const alone = async (what: string, jobs: number, writes: number, write: (i: number) => Promise<unknown>) => {
    await b.phase(`${what}, each alone from the bench`);
    return { ...rate(jobs, await b.concurrently(jobs, write)), writes, concurrency: o.concurrency };
  };
  // a retry's write: the conditional UpdateItem claimRetry makes of a failed job (state, generation, history; both index entries moved)
  const retry = await alone("a retry's write", failed.length, failed.length, (i) => claimRetry(b.store, failed[i]!, Date.now(), 'api'));
  // a job's three writes, one after the other: its conditional PutItem as POST /jobs makes it, the worker's claim, its completion
  const job = await alone("a job's three writes", o.jobs, 3 * o.jobs, async (i) => {
    const created = newJob(warmUp + 2 * o.retryAll + i, Date.now());
    await b.store.create(created);
    const claimed = await b.store.claim(created.id, created.generation, Date.now(), LEASE_MS);
    if (!claimed) throw new Error(`job ${created.id}: the claim found it no longer waiting`);
    const { next, expect } = moveToCompleted(claimed, Date.now(), Date.now(), claimed.data);
    await b.store.save(next, expect, claimed);
  });
  return { retryAllPaused, seedingForPaused, ownWrites: { retry, job } };
};

// a runtime's process group outlives the bench unless killed with it
let running: LocalRuntime | undefined;
const killRunning = () => running && signalGroup(running.pgid, 'SIGKILL');
process.on('exit', killRunning);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    killRunning();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}

const withRuntime = async <T>(env: Record<string, string>, o: Options, work: (bench: Bench, o: Options) => Promise<T>) => {
  log(`starting a local runtime${env.REQUEUE_WORKER_CONCURRENCY === '0' ? ', its worker paused' : ''}`);
  const ports = await freePorts();
  const runtime = (running = await startLocalRuntime({ env: { DYNAMODB_PORT: String(ports[0]), SQS_PORT: String(ports[1]), ...env } }));
  try {
    const figures = await work(await benchOn(runtime, ports, o), o);
    await runtime.interrupt();
    return { figures, startupMs: runtime.startupMs };
  } catch (error) {
    await runtime.kill().catch(() => undefined);
    process.stderr.write(`The runtime's last output:\n${runtime.output().slice(-4000)}\n`);
    throw error;
  } finally {
    running = undefined;
    removeDataDir(runtime.dataDir);
  }
};

type Figures = Awaited<ReturnType<typeof runWithWorker>> & Awaited<ReturnType<typeof runPaused>>;
const perS = (perSecond: number) => `${fixed(perSecond)}/s`;

const evaluateTargets = (r: Figures): Target[] => {
  const pct = (n: number) => `${fixed(n * 100, 1)}%`;
  const times = (n: number) => `${fixed(n, 2)}×`;
  // a rate must reach its threshold, a latency stay at or below it
  type Shown = (n: number) => string;
  const check = (name: string, short: string, target: string, threshold: number, [a, b]: number[], shown: Shown, rates = true): Target => {
    const ratio = a! / b!;
    const value = (n: number) => (rates ? perS(n) : `${n} ms`);
    const pass = rates ? ratio >= threshold : ratio <= threshold;
    return { name, short, target, measured: `${value(a!)} / ${value(b!)} = ${shown(ratio)}`, ratio, threshold, atLeast: rates, pass };
  };
  const [full, empty] = [r.latencyFull, r.latencyEmpty];
  const flat = (k: keyof typeof TIMED, short: string) => {
    const name = `GET ${TIMED[k]} at ${fixed(full.jobs)} jobs vs at ${fixed(empty.jobs)}`;
    return check(name, short, '≤ 1.5×', 1.5, [full[k].medianMs, empty[k].medianMs], times, false);
  };
  return [
    check(`retry-all of ${fixed(r.retryAllPaused.jobs)} failed jobs (the worker paused) vs a retry's write alone`, "retry-all / a retry's write",
      "≥ 90% of a retry's write alone", 0.9, [r.retryAllPaused.perSecond, r.ownWrites.retry.perSecond], pct),
    check("end-to-end (enqueue → completed) vs a job's three writes alone", "end-to-end / a job's writes",
      "≥ 85% of a job's three writes alone", 0.85, [r.endToEnd.perSecond, r.ownWrites.job.perSecond], pct),
    check('loop of single retries vs retry-all (the worker running in both)', 'retry-all / single retries',
      'loop ≥ 3× slower', 3, [r.retryAll.perSecond, r.singleRetries.perSecond], times),
    flat('metrics', 'metrics, full / empty'),
    flat('failedPage', 'failed page, full / empty'),
  ];
};

const measure = async (o: Options, command: string) => {
  if (o.seedFailed > o.seedTotal) throw new Error(`--seed-failed (${o.seedFailed}) cannot exceed --seed-total (${o.seedTotal}).`);
  // the commit measured, and the files under lambda/ and local/ that differ from it (the runtime runs the working tree);
  // a porcelain line is two status columns, a space and the path
  const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' });
  const uncommitted = git('status', '--porcelain', '--', 'lambda', 'local').split('\n').filter(Boolean).map((line) => line.slice(3));
  const code = { commit: git('rev-parse', 'HEAD').trim(), uncommitted };
  const began = now();
  const machine = describeMachine();
  const date = new Date().toISOString();
  const first = await withRuntime({}, o, runWithWorker);
  const paused = await withRuntime({ REQUEUE_WORKER_CONCURRENCY: '0' }, o, runPaused);
  const bundles = await measureBundles(o.bundleRuns);
  machine.loadAtEnd = describeMachine().loadAtStart;
  const figures: Figures = { ...first.figures, ...paused.figures };
  const runtime = { startupMs: first.startupMs, workerConcurrency: process.env.REQUEUE_WORKER_CONCURRENCY ?? '2 (the runtime default)' };
  const durationS = (now() - began) / 1000;
  return { command, code, date, durationS, machine, options: o, runtime, ...figures, bundles, targets: evaluateTargets(figures) };
};

const formatPage = (r: Awaited<ReturnType<typeof measure>>): string => {
  const o = r.options;
  const { commit, uncommitted } = r.code;
  const changes = uncommitted.length > 0 ? ` with uncommitted changes to ${uncommitted.map((f) => `\`${f}\``).join(', ')}` : '';
  const row = (what: string, f: ReturnType<typeof rate>) => [what, fixed(f.jobs), `${fixed(f.ms / 1000, 2)} s`, perS(f.perSecond)];
  const until = (f: { mode: string }) => (f.mode === 'task' ? 'task COMPLETED' : '200');
  const C = `C = ${o.concurrency}`;
  const latencies = (['metrics', 'failedPage'] as const).flatMap((k) =>
    [r.latencyEmpty, r.latencyOnePage, r.latencyFull].map(({ jobs, [k]: l }) => [
      `\`GET ${TIMED[k]}\`, ${fixed(jobs)} jobs`, `${l.medianMs} ms`, `${l.p90Ms} ms`, `${l.minMs}–${l.maxMs} ms`]),
  );
  return [
    '# Benchmarks\n',
    `Made by \`${r.command}\` on ${r.date} (${fixed(r.durationS)} s), at commit \`${commit.slice(0, 10)}\`${changes}, on the machine below.`,
    `Sizes: ${fixed(o.jobs)} jobs enqueued, ${fixed(o.singleRetries)} single retries, ${fixed(o.retryAll)} jobs a retry-all,`,
    `${fixed(o.seedTotal)} jobs (${fixed(o.seedFailed)} failed) for the second latency figures, ${C} (\`npm run bench -- --help\` lists the flags).`,
    `\n## Targets: ${r.targets.filter((t) => t.pass).length} of ${r.targets.length} pass\n`,
    ...table([['what', 'target', 'measured', 'result'], ...r.targets.map((t) => [t.name, t.target, t.measured, t.pass ? '**PASS**' : '**FAIL**'])]),
    '\n![each target: its measured ratio and its threshold](benchmarks.svg)\n\n## Figures\n',
    ...table([
      ['figure', 'jobs', 'time', 'rate'],
      row(`enqueue: \`POST /jobs\` (\`${JOB_NAME}\`), ${C}, the worker running`, r.enqueue),
      row('end-to-end: first enqueue → no job left to run in the table', r.endToEnd),
      row(`single retries: \`POST /jobs/retry/{id}\`, ${C}, the worker running`, r.singleRetries),
      row(`retry-all, the worker running: request → ${until(r.retryAll)}`, r.retryAll),
      row(`retry-all, the worker paused (second runtime): request → ${until(r.retryAllPaused)}`, r.retryAllPaused),
      row(`a retry's write alone: \`claimRetry\`'s conditional UpdateItem, ${C}`, r.ownWrites.retry),
      row(`a job's three writes alone: its PutItem, the claim, the completion, ${C}`, r.ownWrites.job),
    ]),
    '',
    ...table([['call', `median of ${o.samples} (after 5 untimed)`, 'p90', 'min–max'], ...latencies]),
    '\n## Bundles\n', ...formatBundles(r.bundles), '\n## Machine\n', ...machineTable(r.machine),
    `\nWorker pollers: ${r.runtime.workerConcurrency}; runtime ready in ${fixed(r.runtime.startupMs)} ms.`,
    'Raw figures: [benchmarks.json](benchmarks.json).\n',
  ].join('\n');
};

runBench('bench', KNOBS, async ({ out, ...options }, command) => {
  const results = await measure(options, command);
  const file = path.resolve(ROOT, out);
  const beside = { 'benchmarks.json': `${JSON.stringify(results, null, 2)}\n`, 'benchmarks.svg': targetChart(results.targets) };
  writeReport(file, formatPage(results), { keep: true, beside });
  for (const t of results.targets) log(`${t.pass ? 'PASS' : 'FAIL'}  ${t.name}: ${t.measured} (target ${t.target})`);
  log(`report written to ${path.relative(process.cwd(), file) || file}`);
});
