// `npm run bench`: five speed targets, each a ratio of two figures of one run. A local runtime with its worker
// running times the API's latency at three table sizes, enqueue to completion, single retries and a retry-all; a
// second one, its worker paused, a retry-all and the writes a retry and a job cannot do without, sent alone from the
// bench. Then bundles.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbJobStore } from '../lambda/adapters/dynamodb-job-store';
import type { JobState } from '../lambda/core/job';
import { claimRetry } from '../lambda/core/retry-failed-job';
import { moveToCompleted } from '../lambda/core/transitions';
import { removeDataDir, ROOT } from '../local/launcher';
import { formatBundles, measureBundles } from './bundles';
import { now, rate, runConcurrently, settle, startRuntime, TABLE_NAME, timeCalls, waitFor } from './load';
import type { BenchRuntime } from './load';
import { runBench, type Values } from './options';
import { commitMeasured, describeMachine, fixed, machineTable, madeBy, table, targetChart, verdict } from './report';
import { target, writeReport, type Target } from './report';
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

const PAGE = 50;

const STATES = ['waiting', 'active', 'delayed', 'failed'] as const;

const TIMED = { metrics: '/jobs/metrics', failedPage: `/jobs/failed?limit=${PAGE}` } as const;

const log = (message: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

// generous: no phase should run slower than 20 jobs a second
const budgetFor = (jobs: number) => Math.max(60_000, jobs * 50);

/** The phases' steps on one runtime; `seed` and `retryAll` resolve with what they did and how long it took. */
const benchOn = (rt: BenchRuntime, o: Options) => {
  // on a client with cached middleware, as the handlers' store is; lib-dynamodb's DocumentClient refuses one
  const client = new DynamoDBClient({ ...rt.dynamoDb, cacheMiddleware: true });
  const store = new DynamoDbJobStore({ tableName: TABLE_NAME, retentionMs: RETENTION_MS, client });
  const listed = async (state: JobState) => (await store.listByState(state, 1)).items.length > 0;
  /** No job left to run (with `swept`, none failed and no dead letter either), read from listings, not the counters. */
  const drained = (what: string, jobs: number, swept = true) => {
    const read = async () => {
      const [waiting, active, delayed, failed] = await Promise.all(STATES.map(listed));
      const dead: Record<string, number> = swept ? (await rt.call('GET', '/jobs/metrics')).queues.deadLetter : {};
      return { pending: waiting || active || delayed, failed, deadLetters: Object.values(dead).some((n) => n > 0) };
    };
    return waitFor(read, (t) => !t.pending && (!swept || !(t.failed || t.deadLetters)), what, budgetFor(jobs));
  };
  /** Jobs written straight into the table, which holds `before` jobs; once the stream has counted them, a recount. */
  const seed = async ({ failed = 0, completed = 0 }, before: number) => {
    const count = failed + completed;
    const start = now();
    const base = Date.now() - count - 60_000;
    const make = (i: number) => (i < completed ? completedJob : failedJob)(before + i, base + i);
    const jobs = (await seedJobs({ ...rt.seedTarget, concurrency: o.concurrency }, count, make)).slice(completed);
    const ms = now() - start;
    const total = async () => (await rt.call('GET', '/jobs/metrics')).total;
    await waitFor(total, (n) => n >= before + count, 'the stream to count the seeded jobs', budgetFor(count), 250);
    // a recount corrects what the counters made of moves, and declines while jobs move: it is tried again
    await waitFor(() => store.recount(), (counts) => counts !== undefined, 'a recount', budgetFor(count), 500);
    return { seeding: { jobs: count, failed, completed, ms }, jobs };
  };
  /** `POST /jobs/retry-all-failed`, its task (if it made one) followed until COMPLETED: from the request to the end. */
  const retryAll = async (jobs: number) => {
    const start = now();
    const answer = await rt.local.request('POST', '/jobs/retry-all-failed');
    if (answer.status === 200) {
      const { retriedCount, total, failedCount } = answer.body;
      return { ...rate(retriedCount, now() - start), mode: 'sync', total, failed: failedCount };
    }
    if (answer.status !== 202) throw new Error(`POST /jobs/retry-all-failed answered ${answer.status}: ${answer.text}`);
    const route = `/jobs/retry-tasks/${answer.body.taskId}`;
    const running = (task: { status: string }) => task.status === 'RUNNING';
    const task = await waitFor(() => rt.call('GET', route), (t) => !running(t), `${route} to end`, budgetFor(jobs));
    if (task.status !== 'COMPLETED') throw new Error(`retry task ended ${task.status}: ${JSON.stringify(task)}`);
    return { ...rate(task.retried, now() - start), mode: 'task', total: task.total, failed: task.failed };
  };
  /** Metrics and a failed page, `samples` calls each, once the runtime has fallen idle; `jobs`: metrics' total. */
  const latency = async () => {
    await settle(rt.local.pgid);
    const jobs: number = (await rt.call('GET', TIMED.metrics)).total;
    const timed = (route: string) => timeCalls(o.samples, () => rt.call('GET', route));
    return { metrics: await timed(TIMED.metrics), failedPage: await timed(TIMED.failedPage), jobs };
  };
  const phase = async (what: string) => {
    await settle(rt.local.pgid);
    log(what);
  };
  const atC = (count: number, fn: (i: number) => Promise<unknown>) => runConcurrently(count, o.concurrency, fn);
  return { store, call: rt.call, listed, drained, seed, retryAll, latency, phase, atC };
};

type Bench = ReturnType<typeof benchOn>;

const runWithWorker = async (b: Bench, o: Options) => {
  const latencyEmpty = await b.latency();
  // at 0 jobs the page is empty; a full page on a small table tells the cost of its 50 jobs from that of a large table
  await b.seed({ failed: PAGE }, 0);
  const latencyOnePage = await b.latency();
  await b.call('POST', '/jobs/retry-all-failed');
  await b.drained(`the ${PAGE} jobs of the page to be retried and complete`, PAGE);

  await b.phase(`enqueue ${o.jobs} ${JOB_NAME} jobs at C = ${o.concurrency}; end-to-end until all completed`);
  const start = now();
  const enqueue = await b.atC(o.jobs, (i) => b.call('POST', '/jobs', 201, { name: JOB_NAME, data: { n: i } }));
  if ((await b.drained(`${o.jobs} jobs to finish`, o.jobs, false)).failed) throw new Error(`a ${JOB_NAME} job failed`);
  const endToEnd = rate(o.jobs, now() - start);

  const retryJobs = o.singleRetries + o.retryAll;
  const { seeding: seedingForRetries, jobs } = await b.seed({ failed: retryJobs }, PAGE + o.jobs);
  await b.phase(`${o.singleRetries} single retries of ${retryJobs} failed jobs at C = ${o.concurrency}`);
  const singleRetries = await b.atC(o.singleRetries, (i) => b.call('POST', `/jobs/retry/${jobs[i]!.id}`));
  await b.drained('the single retries to complete', o.singleRetries, false);
  await b.phase(`retry-all over ${o.retryAll} failed jobs, the worker running the retried jobs beside it`);
  const retryAll = await b.retryAll(o.retryAll);
  await b.drained('the retried jobs to complete and the dead-letter queue to be swept', o.retryAll);

  // every job so far is retained: the table is filled up to seedTotal
  const before = PAGE + o.jobs + retryJobs;
  const completed = Math.max(0, o.seedTotal - o.seedFailed - before);
  const { seeding: seedingForLatency } = await b.seed({ failed: o.seedFailed, completed }, before);
  const latencyFull = await b.latency();
  const latencies = { latencyEmpty, latencyOnePage, latencyFull };
  return { enqueue, endToEnd, seedingForRetries, singleRetries, retryAll, seedingForLatency, ...latencies };
};

const runPaused = async (b: Bench, o: Options) => {
  // a fresh process: warmed up by an untimed retry-all of a tenth as many jobs, as the first one was by its work
  const warmUp = Math.max(1, Math.round(o.retryAll / 10));
  await b.seed({ failed: warmUp }, 0);
  await b.retryAll(warmUp);
  const { seeding: seedingForPaused } = await b.seed({ failed: o.retryAll }, warmUp);
  await b.phase(`retry-all over ${o.retryAll} failed jobs, the worker paused`);
  const retryAllPaused = await b.retryAll(o.retryAll);
  if ((await b.listed('failed')) || !(await b.listed('waiting'))) {
    throw new Error('the paused retry-all left a job failed, or none waiting');
  }

  const { jobs: failed } = await b.seed({ failed: o.retryAll }, warmUp + o.retryAll);
  // a retry's write: claimRetry's conditional UpdateItem of a failed job (state, generation, history, index entries)
  await b.phase("a retry's write, each alone from the bench");
  const retry = await b.atC(failed.length, (i) => claimRetry(b.store, failed[i]!, Date.now(), 'api'));
  // a job's three writes in turn: its conditional PutItem as POST /jobs makes it, the worker's claim, its completion
  await b.phase("a job's three writes, each alone from the bench");
  const job = await b.atC(o.jobs, async (i) => {
    const created = newJob(warmUp + 2 * o.retryAll + i, Date.now());
    await b.store.create(created);
    const claimed = await b.store.claim(created.id, created.generation, Date.now(), LEASE_MS);
    if (!claimed) throw new Error(`job ${created.id}: the claim found it no longer waiting`);
    const { next, expect } = moveToCompleted(claimed, Date.now(), Date.now(), claimed.data);
    await b.store.save(next, expect, claimed);
  });
  const ownWrites = {
    retry: { ...retry, writes: retry.jobs, concurrency: o.concurrency },
    job: { ...job, writes: 3 * job.jobs, concurrency: o.concurrency },
  };
  return { retryAllPaused, seedingForPaused, ownWrites };
};

const withRuntime = async <T>(env: Record<string, string>, o: Options, work: (b: Bench, o: Options) => Promise<T>) => {
  log(`starting a local runtime${env.REQUEUE_WORKER_CONCURRENCY === '0' ? ', its worker paused' : ''}`);
  const rt = await startRuntime({ env });
  try {
    const figures = await work(benchOn(rt, o), o);
    await rt.local.interrupt();
    return { figures, startupMs: rt.local.startupMs };
  } catch (error) {
    await rt.local.kill().catch(() => undefined);
    process.stderr.write(`The runtime's last output:\n${rt.local.output().slice(-4000)}\n`);
    throw error;
  } finally {
    removeDataDir(rt.local.dataDir);
  }
};

type Figures = Awaited<ReturnType<typeof runWithWorker>> & Awaited<ReturnType<typeof runPaused>>;

const evaluateTargets = (r: Figures): Target[] => {
  const flat = (k: keyof typeof TIMED, short: string) => {
    const name = `GET ${TIMED[k]} at ${fixed(r.latencyFull.jobs)} jobs vs at ${fixed(r.latencyEmpty.jobs)}`;
    return target(name, short, '≤ 1.5×', 1.5, [r.latencyFull[k].medianMs, r.latencyEmpty[k].medianMs], false);
  };
  const paused = `retry-all of ${fixed(r.retryAllPaused.jobs)} failed jobs (the worker paused)`;
  const perSecond = (a: { perSecond: number }, b: { perSecond: number }) => [a.perSecond, b.perSecond];
  const write = "a retry's write alone";
  const writes = "a job's three writes alone";
  return [
    target(`${paused} vs ${write}`, "retry-all / a retry's write", `≥ 90% of ${write}`, 0.9,
      perSecond(r.retryAllPaused, r.ownWrites.retry)),
    target(`end-to-end (enqueue → completed) vs ${writes}`, "end-to-end / a job's writes", `≥ 85% of ${writes}`,
      0.85, perSecond(r.endToEnd, r.ownWrites.job)),
    target('loop of single retries vs retry-all (the worker running in both)', 'retry-all / single retries',
      'loop ≥ 3× slower', 3, perSecond(r.retryAll, r.singleRetries)),
    flat('metrics', 'metrics, full / empty'),
    flat('failedPage', 'failed page, full / empty'),
  ];
};

const measure = async (o: Options, command: string) => {
  if (o.seedFailed > o.seedTotal) throw new Error(`--seed-failed ${o.seedFailed} is over --seed-total ${o.seedTotal}`);
  // the runtime runs the working tree: the files under lambda/ and local/ that differ from the commit measured
  const status = execFileSync('git', ['status', '--porcelain', 'lambda', 'local'], { cwd: ROOT, encoding: 'utf8' });
  const uncommitted = status.split('\n').filter(Boolean).map((line) => line.slice(3));
  const code = { commit: commitMeasured(), uncommitted };
  const began = now();
  const machine = describeMachine();
  const date = new Date().toISOString();
  const first = await withRuntime({}, o, runWithWorker);
  const paused = await withRuntime({ REQUEUE_WORKER_CONCURRENCY: '0' }, o, runPaused);
  const bundles = await measureBundles(o.bundleRuns);
  machine.loadAtEnd = describeMachine().loadAtStart;
  const figures: Figures = { ...first.figures, ...paused.figures };
  const workerConcurrency = process.env.REQUEUE_WORKER_CONCURRENCY ?? '2 (the runtime default)';
  const runtime = { startupMs: first.startupMs, workerConcurrency };
  const durationS = (now() - began) / 1000;
  const targets = evaluateTargets(figures);
  return { command, code, date, durationS, machine, options: o, runtime, ...figures, bundles, targets };
};

const formatPage = (r: Awaited<ReturnType<typeof measure>>): string => {
  const o = r.options;
  const files = r.code.uncommitted.map((f) => `\`${f}\``).join(', ');
  const changes = files ? ` with uncommitted changes to ${files}` : '';
  const C = `C = ${o.concurrency}`;
  const rated = (what: string, f: ReturnType<typeof rate>) => {
    return [what, fixed(f.jobs), `${fixed(f.ms / 1000, 2)} s, ${fixed(f.perSecond)}/s`];
  };
  const until = (f: { mode: string }) => (f.mode === 'task' ? 'task COMPLETED' : '200');
  const onePage = (k: keyof typeof TIMED) => {
    const l = r.latencyOnePage[k];
    return [`\`GET ${TIMED[k]}\`, median`, fixed(r.latencyOnePage.jobs), `${l.medianMs} ms (p90 ${l.p90Ms} ms)`];
  };
  const sizes = Object.entries(o).map(([key, value]) => `${key} ${fixed(value)}`);
  return [
    '# Benchmarks\n',
    `${madeBy(r.command, r.date, r.durationS)}${changes}, on the machine below.`,
    `Sizes (\`npm run bench -- --help\` lists the flags): ${sizes.join(', ')}.`,
    `\n## Targets: ${r.targets.filter((t) => t.pass).length} of ${r.targets.length} pass\n`,
    ...table([
      ['what', 'target', 'measured', 'result'],
      ...r.targets.map((t) => [t.name, t.target, t.measured, `**${verdict(t.pass)}**`]),
    ]),
    '\n![each target: its measured ratio and its threshold](benchmarks.svg)\n\n## Figures\n',
    ...table([
      ['figure', 'jobs', `time and rate; a call's latency over ${o.samples} calls (after 5 untimed)`],
      rated(`enqueue: \`POST /jobs\` (\`${JOB_NAME}\`), ${C}, the worker running`, r.enqueue),
      rated('end-to-end: first enqueue → no job left to run in the table', r.endToEnd),
      rated(`single retries: \`POST /jobs/retry/{id}\`, ${C}, the worker running`, r.singleRetries),
      rated(`retry-all, the worker running: request → ${until(r.retryAll)}`, r.retryAll),
      rated(`retry-all, the worker paused (second runtime): request → ${until(r.retryAllPaused)}`, r.retryAllPaused),
      rated(`a retry's write alone: \`claimRetry\`'s conditional UpdateItem, ${C}`, r.ownWrites.retry),
      rated(`a job's three writes alone: its PutItem, the claim, the completion, ${C}`, r.ownWrites.job),
      onePage('metrics'),
      onePage('failedPage'),
    ]),
    '\n## Bundles\n',
    ...formatBundles(r.bundles),
    '\n## Machine\n',
    ...machineTable(r.machine),
    `\nWorker pollers: ${r.runtime.workerConcurrency}; runtime ready in ${fixed(r.runtime.startupMs)} ms.`,
    'Raw figures: [benchmarks.json](benchmarks.json).\n',
  ].join('\n');
};

void runBench('bench', KNOBS, async ({ out, ...options }, command) => {
  const results = await measure(options, command);
  const file = path.resolve(ROOT, out);
  const json = `${JSON.stringify(results, null, 2)}\n`;
  const beside = { 'benchmarks.json': json, 'benchmarks.svg': targetChart(results.targets) };
  writeReport(file, formatPage(results), { keep: true, beside });
  for (const t of results.targets) log(`${verdict(t.pass)}  ${t.name}: ${t.measured} (target ${t.target})`);
  log(`report written to ${path.relative(process.cwd(), file) || file}`);
});
