/**
 * `npm run bench:cost`: what requeue costs on AWS, counted from the requests
 * of a run of the local runtime (bench/cost-counter.ts) and priced by
 * bench/cost-model.ts, written to docs/COST.md. Jobs run one at a time, so
 * every count is the same run after run.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import { build } from 'esbuild';
import { JOB_CHANGES_COUNTER, RECONCILER } from '../lambda/routes';
import { FUNCTION_ENV, QUEUE_SETTINGS } from '../lambda/adapters/settings';
import { removeDataDir, ROOT } from '../local/launcher';
import { parseRate } from '../local/schedule';
import { installCostCounter, type CountedRequest } from './cost-counter';
import * as model from './cost-model';
import { sum, type Shards, type Usage } from './cost-model';
import { startRuntime, TABLE_NAME, waitFor, type BenchRuntime } from './load';
import { runBench } from './options';
import { fixed, table, writeReport } from './report';

export interface CostWorkload {
  /** `demo.echo` jobs, completing at their first attempt. */
  readonly succeeded: number;
  /** `demo.fail` jobs of 3 attempts, then one retry-all of them. */
  readonly failing: number;
  /** node's --stack-trace-limit: frames name full paths, so a failure's item size depends on the checkout. */
  readonly stackFrames?: number;
}

export interface Phase {
  readonly name: 'succeeded' | 'failing' | 'retry-all';
  readonly jobs: number;
  readonly usage: Usage;
  /** Requests of no caller found (left out of `usage`, with the pollers' empty receives). */
  readonly unattributed: number;
}

/** As local/main.ts provisions them. */
const QUEUES = { queueUrl: 'requeue-jobs', deadLetterQueueUrl: 'requeue-jobs-dlq', taskQueueUrl: 'requeue-jobs-tasks' };
const WAIT_MS = 120_000;
const PASSES_AN_HOUR = 3_600_000 / parseRate(RECONCILER.schedule);
/** Requests a user's call does not make: the runtime starting, the bench looking, requests of no awaited chain. */
const NOT_THE_WORKLOAD =
  /^(local:(main|provision)|bench:.*|unknown|get-job|get-metrics|list-failed-jobs|get-retry-task|reconcile)$/;

// the runtime appends while the bench reads: a last line without its newline is still being written
const readLog = (file: string): CountedRequest[] => {
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, 'utf8').split('\n').slice(0, -1).filter(Boolean);
  return lines.map((line) => JSON.parse(line) as CountedRequest);
};

const isIdleReceive = (r: CountedRequest) =>
  r.caller === 'local:event-source' && r.operation === 'ReceiveMessage' && r.messages === 0;

/**
 * One pass of the reconcile handler, the schedule's only work (a recount runs on demand), in this process on the
 * runtime's table, after each of `seeds` completed jobs more.
 */
const measureScheduled = async (rt: BenchRuntime, logFile: string, retained: number, seeds: readonly number[]) => {
  if (seeds.length === 0) return [];
  const credentials = { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' };
  const endpoints = { AWS_ENDPOINT_URL_DYNAMODB: rt.endpoints.dynamoDb, AWS_ENDPOINT_URL_SQS: rt.endpoints.sqs };
  Object.assign(process.env, credentials, endpoints);
  const { sqs } = rt.seedTarget;
  for (const [setting, QueueName] of Object.entries(QUEUES)) {
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName }));
    process.env[FUNCTION_ENV[setting as keyof typeof QUEUES]] = QueueUrl;
  }
  process.env[FUNCTION_ENV.tableName] = TABLE_NAME;
  installCostCounter(logFile);
  // the handler's modules read their settings as they load: after these
  const { handler } = await import('../lambda/handlers/reconcile');
  const { completedJob, seedJobs } = await import('./seed');
  const target = { ...rt.seedTarget, concurrency: 4 };
  const passes: Array<{ retained: number; readUnits: number; requests: number }> = [];
  for (const count of seeds) {
    await seedJobs(target, count, (i) => completedJob(retained + i, Date.now()));
    retained += count;
    const from = readLog(logFile).length;
    await handler();
    const pass = model.tally(readLog(logFile).slice(from));
    passes.push({ retained, readUnits: pass.readUnits, requests: sum(Object.values(pass.requests)) });
  }
  return passes;
};

/** The workload through a fresh local runtime, phase by phase; then the schedule's work after each of `seeds`. */
export const runCostWorkload = async (workload: CostWorkload, seeds: readonly number[] = []) => {
  // the counter, bundled for `node --require`
  const counter = path.join(ROOT, 'dist/bench/cost-counter.cjs');
  const entryPoints = [path.join(ROOT, 'bench/cost-counter.ts')];
  const options = { bundle: true, platform: 'node', target: 'node20', packages: 'external' } as const;
  await build({ ...options, entryPoints, outfile: counter, logLevel: 'warning' });
  const logFile = path.join(tmpdir(), `requeue-cost-${process.pid}-${Date.now()}.jsonl`);
  const stackLimit = workload.stackFrames === undefined ? [] : [`--stack-trace-limit=${workload.stackFrames}`];
  const env = {
    REQUEUE_COST_LOG: logFile,
    // a job runs well within the stream's window from its enqueue, and the next starts once it is counted: each
    // job's changes come to the counting function as one batch, run after run, as a busy stream's do on AWS
    REQUEUE_STREAM_WINDOW_MS: '2000',
    NODE_OPTIONS: [`--require ${counter}`, '--enable-source-maps', ...stackLimit].join(' '),
  };
  const rt = await startRuntime({ env, startupBudgetMs: 60_000 });
  const runtime = rt.local;
  const post = (route: string, body?: unknown, status = 201) => rt.call('POST', route, status, body);
  // settled: the event source deleted every message sent (then each request of its job has been sent) and the
  // counters, which follow the table's stream, have every outcome: the counting function's work lands in its phase
  const expected = { deleted: 0, completed: 0, failed: 0 };
  const seen = async () => {
    const metrics = await runtime.request('GET', '/jobs/metrics');
    const throughput: { completed: number; failed: number }[] = metrics.body.throughput;
    const deletes = readLog(logFile).filter((r) => model.fromEventSource(r, 'DeleteMessageBatch'));
    return {
      deleted: sum(deletes.map((r) => r.messages ?? 0)),
      completed: sum(throughput.map((m) => m.completed)),
      failed: sum(throughput.map((m) => m.failed)),
    };
  };
  const settle = async (messages: number, outcome: 'completed' | 'failed') => {
    expected.deleted += messages;
    expected[outcome] += messages;
    const done = (s: typeof expected) =>
      s.deleted >= expected.deleted && s.completed === expected.completed && s.failed === expected.failed;
    await waitFor(seen, done, `all of ${JSON.stringify(expected)}`, WAIT_MS, 20);
  };
  const phases: Phase[] = [];
  const phase = async (name: Phase['name'], jobs: number, apiRequests: number, run: () => Promise<void>) => {
    const from = readLog(logFile).length;
    const outputFrom = Buffer.byteLength(runtime.output(), 'utf8');
    await run();
    const rs = readLog(logFile).slice(from);
    const logBytes = Buffer.byteLength(runtime.output(), 'utf8') - outputFrom;
    const workload = rs.filter((r) => !isIdleReceive(r) && !NOT_THE_WORKLOAD.test(r.caller));
    const usage = model.usageOf(workload, apiRequests, logBytes);
    const unattributed = rs.filter((r) => r.caller === 'unknown').length;
    phases.push({ name, jobs, usage, unattributed });
  };
  const oneByOne = (jobs: number, outcome: 'completed' | 'failed', body: (i: number) => unknown) => async () => {
    for (let i = 0; i < jobs; i++) {
      await post('/jobs', body(i));
      await settle(1, outcome);
    }
  };
  try {
    const { succeeded, failing } = workload;
    const echo = (i: number) => ({ name: 'demo.echo', data: { to: `customer-${i}@example.com`, n: i } });
    await phase('succeeded', succeeded, succeeded, oneByOne(succeeded, 'completed', echo));
    const opts = { attempts: 3, backoff: { type: 'fixed', delay: 0 } };
    const fail = (i: number) => ({ name: 'demo.fail', data: { message: `card declined ${i}` }, opts });
    await phase('failing', failing, failing, oneByOne(failing, 'failed', fail));
    await phase('retry-all', failing, 1, async () => {
      const answer = await post('/jobs/retry-all-failed', undefined, 200);
      if (answer.retriedCount !== failing) throw new Error(`retry-all retried ${JSON.stringify(answer)}`);
      await settle(failing, 'failed');
    });
    const passes = await measureScheduled(rt, `${logFile}.scheduled`, succeeded + failing, seeds);
    return { phases, passes };
  } finally {
    await runtime.kill();
    removeDataDir(runtime.dataDir);
    if (process.env.COST_KEEP_LOG) process.stderr.write(`Kept the request logs: ${logFile}, ${logFile}.scheduled\n`);
    else for (const file of [logFile, `${logFile}.scheduled`]) rmSync(file, { force: true });
  }
};

const money = (n: number) => `$${fixed(n, 2)}`;
const num = (n: number, digits = 2) => fixed(n, Number.isInteger(n) ? 0 : digits);
const rate = (perSecond: number) => `${fixed(Math.floor(perSecond))} jobs/s`;
const keys = (c: ReturnType<typeof model.ceiling>) => c.keys.map((k) => `\`${k}\``).join(', ');
const section = (title: string, ...lines: string[]) => ['', `## ${title}`, '', ...lines];
const dollars = (label: string, d: ReturnType<typeof model.perMillionJobs>) =>
  [label, ...[d.dynamoDb, d.sqs, d.apiGateway, d.lambda, d.logs].map(money), `**${money(d.total)}**`];
const verdict = (target: string, measured: string, pass: boolean) => [target, measured, pass ? 'PASS' : 'FAIL'];

/** docs/COST.md's generated part, every figure at full batches; the page's hand-written part says how they are made. */
type Passes = Awaited<ReturnType<typeof measureScheduled>>;

const costReport = (phases: readonly Phase[], passes: Passes, command: string, shards: Shards) => {
  const batch = QUEUE_SETTINGS.batchSize;
  const doubled = { index: 2 * shards.index, counters: 2 * shards.counters };
  const [succeeded, failing, retry] = phases.map((p) => {
    const full = model.atBatchSize(p.usage, batch);
    return { ...full, jobs: p.jobs, usd: model.perMillionJobs(full, p.jobs) };
  });
  const hot = model.ceiling(succeeded.tally, succeeded.jobs, shards);
  const hot2 = model.ceiling(succeeded.tally, succeeded.jobs, doubled);
  const ratio = hot2.jobsPerSecond / hot.jobsPerSecond;
  // the last two passes: the first after the workload also sweeps the dead-letter queue, once
  const small = passes.at(-2)!;
  const large = passes.at(-1)!;
  const growth = (PASSES_AN_HOUR * (large.readUnits - small.readUnits)) / (large.retained - small.retained);
  const atMillion = PASSES_AN_HOUR * small.readUnits + growth * (1_000_000 - small.retained);
  const success = succeeded.usd.total;
  const failure = failing.usd.total;
  const targets = [
    verdict(`a successful job ≤ $6.00 per million (${batch} a batch)`, money(success), success <= 6),
    verdict(`a job failing 3 attempts ≤ $12.40 per million (${batch} a batch)`, money(failure), failure <= 12.4),
    verdict(
      `throughput ceiling ≥ 10,000 jobs/s (${shards.index} index shards, ${shards.counters} counter shards)`,
      `${rate(hot.jobsPerSecond)}: ${keys(hot)}, ${num(hot.unitsPerJob)} write units a job over ${hot.shards} shards` +
        ` (${hot.shardsSeen} touched), ${num(hot.unitsPerJobPerShard, 4)} on one`,
      hot.jobsPerSecond >= 10_000,
    ),
    verdict(
      'twice that with twice the shards',
      `${rate(hot2.jobsPerSecond)} at ${doubled.index} and ${doubled.counters} (× ${num(ratio)}; ${keys(hot2)})`,
      ratio >= 2 - 1e-9,
    ),
    verdict(
      'no scheduled work whose reads grow with the retained jobs',
      `${num(growth * 1000, 1)} read units an hour more per 1,000 retained jobs`,
      growth === 0,
    ),
  ];
  const floor = (attempts: number, dead: boolean) => model.perMillionJobs(model.floorUsage(attempts, dead, batch), 1);
  const columns = [succeeded, failing, retry];
  const perJob = (label: string, cell: (p: (typeof columns)[number]) => number, digits = 2) =>
    [label, ...columns.map((p) => num(cell(p) / p.jobs, digits))];
  const operations = [...new Set(columns.flatMap((p) => Object.keys(p.tally.requests)))].sort();
  const indexShare = (p: (typeof columns)[number]) =>
    `${num(p.tally.indexWriteUnits / p.jobs)} (${Math.round((100 * p.tally.indexWriteUnits) / p.tally.writeUnits)}%)`;
  const monthOfReads = money((atMillion * 24 * 30 * model.PRICE_ROWS.dynamoDbReadPerMillionUnits[0]) / 1e6);
  const hour = (n: number) => String(PASSES_AN_HOUR * n);

  return [
    '# What requeue costs on AWS\n',
    `Made by \`${command}\`: ${succeeded.jobs} successful jobs, ${failing.jobs} jobs failing 3 attempts, one` +
      ` retry-all of them that fail 3 attempts again; every figure at full batches, ${batch} messages a worker` +
      ` batch and ${JOB_CHANGES_COUNTER.batchSize} changes a stream batch ("The run", below).`,
    ...section('Targets', ...table([['target', 'measured', 'result'], ...targets])),
    ...section(
      'US$ per million jobs',
      ...table([
        ['per million', 'DynamoDB', 'SQS', 'API Gateway', 'Lambda', 'Logs', 'total'],
        dollars('successful job', succeeded.usd),
        dollars('floor: successful job', floor(1, false)),
        dollars('job failing 3 attempts', failing.usd),
        dollars('floor: job failing 3 attempts', floor(3, true)),
        dollars('retried by retry-all, failing 3 attempts again', retry.usd),
      ]),
    ),
    ...section(
      'Per job',
      ...table([
        ['per job', 'successful', 'failing 3 attempts', 'retry-all'],
        ...operations.map((op) => perJob(op, (p) => p.tally.requests[op] ?? 0)),
        perJob('DynamoDB write units (table and indexes)', (p) => p.tally.writeUnits),
        ['of which index write units', ...columns.map(indexShare)],
        perJob('DynamoDB read units', (p) => p.tally.readUnits),
        perJob('SQS requests billed (per 64 KiB)', (p) => p.tally.sqsBilled),
        perJob('API requests, and API invocations', (p) => p.invocations.api),
        perJob('worker invocations', (p) => p.invocations.worker),
        perJob('stream counter invocations', (p) => p.invocations.counter, 3),
        perJob('log bytes written by the handlers', (p) => p.logBytes, 0),
      ]),
    ),
    ...section(
      'Scheduled work, as the table grows',
      `Extrapolated linearly from the last two sizes, at 1,000,000 retained jobs the schedule reads` +
        ` **${fixed(atMillion)} read units an hour** (${monthOfReads} a month).`,
      '',
      ...table([
        ['retained jobs', 'read units a pass', 'read units an hour, were every pass so', 'requests an hour'],
        ...passes.map((p) => [String(p.retained), num(p.readUnits), hour(p.readUnits), hour(p.requests)]),
      ]),
    ),
    ...section(
      'Prices',
      `us-east-1, on-demand, list prices as of ${model.PRICES_AS_OF} (\`PRICE_ROWS\` in bench/cost-model.ts):`,
      '',
      ...table([['item', 'US$'], ...Object.values(model.PRICE_ROWS).map(([usd, item]) => [item, String(usd)])]),
    ),
  ].join('\n');
};

const KNOBS = {
  succeeded: { env: 'COST_SUCCEEDED', fallback: 100, help: 'demo.echo jobs, completing at their first attempt' },
  failing: { env: 'COST_FAILING', fallback: 100, help: 'demo.fail jobs of 3 attempts, then one retry-all of them' },
  out: { env: 'COST_OUT', fallback: 'docs/COST.md', help: "the page's path" },
};

// test/bench/cost.test.ts imports runCostWorkload: the bench runs only when this module is the entry point
if (require.main === module) {
  runBench('bench:cost', KNOBS, async ({ succeeded, failing, out }, command) => {
    const { phases, passes } = await runCostWorkload({ succeeded, failing }, [0, 1_000, 1_000]);
    // a setting of the runtime (it inherits this environment), not of the bench
    const index = Number(process.env.REQUEUE_INDEX_SHARDS ?? model.DEFAULT_SHARDS.index);
    const markdown = costReport(phases, passes, command, { ...model.DEFAULT_SHARDS, index });
    writeReport(path.resolve(ROOT, out), markdown, { keep: true });
    process.stdout.write(`${markdown}\nWrote ${out}\n`);
  });
}
