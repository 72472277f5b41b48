/**
 * `npm run bench:cost`: what requeue costs on AWS, counted from the requests
 * of a run of the local runtime (bench/cost-counter.ts) and priced by
 * bench/cost-model.ts, written to docs/COST.md. Jobs run one at a time, so
 * every count is the same run after run.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { JOB_CHANGES_COUNTER } from '../lambda/routes';
import { QUEUE_SETTINGS } from '../lambda/adapters/settings';
import { removeDataDir, ROOT, startLocalRuntime } from '../local/launcher';
import type { CountedRequest } from './cost-counter';
import * as model from './cost-model';
import { atBatchSize, ceiling, DEFAULT_SHARDS, perMillionJobs, PRICES, sum } from './cost-model';
import type { Ceiling, Dollars, Tally, Usage } from './cost-model';
import { waitFor } from './load';
import { runBench } from './options';
import { fixed, table, writeReport } from './report';

export interface CostWorkload {
  /** `demo.echo` jobs, completing at their first attempt. */
  readonly succeeded: number;
  /** `demo.fail` jobs of 3 attempts, then one retry-all of them. */
  readonly failing: number;
  /** node's --stack-trace-limit: frames name full paths, so a failure's item size depends on the checkout; exact counts take 0. */
  readonly stackFrames?: number;
}

export interface Phase {
  readonly name: 'succeeded' | 'failing' | 'retry-all';
  readonly jobs: number;
  readonly usage: Usage;
  /** Left out of `usage`: the event-source pollers' empty receives and the requests of no caller found. */
  readonly idleReceives: number;
  readonly unattributed: number;
}

/** Jobs in the table, and one reconciler pass: the schedule's only work (a recount runs on demand). */
export interface ScheduledPoint {
  readonly retained: number;
  readonly pass: Tally;
}

/** As local/main.ts provisions them. */
const MAIN_QUEUE = 'requeue-jobs';
const TASK_QUEUE = 'requeue-jobs-tasks';
const WAIT_MS = 120_000;
/** The reconciler's schedule, rate(1 minute). */
const PASSES_AN_HOUR = 60;
/** AWS's idle pollers of an event source mapping: 5 a queue, in 20 s long polls. */
const IDLE_RECEIVES_AN_HOUR = 900;
/** Requests a user's call does not make: the runtime starting, the bench looking, requests of no awaited chain. */
const NOT_THE_WORKLOAD = /^(local:(main|provision)|bench:.*|unknown|get-job|get-metrics|list-failed-jobs|get-retry-task|reconcile)$/;

// the runtime appends while the bench reads: a last line without its newline is still being written
const readLog = (file: string): CountedRequest[] => {
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, 'utf8').split('\n').slice(0, -1).filter(Boolean);
  return lines.map((line) => JSON.parse(line) as CountedRequest);
};

const fromEventSource = (r: CountedRequest, operation: string, queue = MAIN_QUEUE) =>
  r.caller === 'local:event-source' && r.operation === operation && r.queue === queue;

const isIdleReceive = (r: CountedRequest) => r.caller === 'local:event-source' && r.operation === 'ReceiveMessage' && r.messages === 0;
const isStreamRead = (r: CountedRequest) => r.service === 'dynamodb-streams';
const isCounting = (r: CountedRequest) => r.caller === JOB_CHANGES_COUNTER.handler && !isStreamRead(r);
const isCounterWrite = (r: CountedRequest) => /^(COUNTS|THROUGHPUT)#/.test(String((r.after ?? r.before ?? r.offered)?.pk?.S ?? ''));

/** What a worker batch pays once: the event source's receive and delete, the worker's hiding and counter writes. */
const isPerBatch = (r: CountedRequest): boolean =>
  fromEventSource(r, 'ReceiveMessage') ||
  fromEventSource(r, 'DeleteMessageBatch') ||
  (r.caller === 'worker' && r.operation === 'ChangeMessageVisibilityBatch') ||
  (r.caller === 'worker' && r.service === 'dynamodb' && isCounterWrite(r));

const usageOf = (rs: readonly CountedRequest[], apiRequests: number, logBytes: number): Usage => {
  const batches = (queue: string) => rs.filter((r) => fromEventSource(r, 'ReceiveMessage', queue) && r.messages! > 0);
  // a counting batch names itself on the counter items it writes (one netting to nothing would write nothing and be
  // missed: each of the workload's ends jobs)
  const counter = new Set(rs.filter((r) => isCounting(r) && r.after?.lastBatch).map((r) => r.after!.lastBatch!.S)).size;
  return {
    // stream reads are free to a Lambda trigger
    tally: model.tally(rs.filter((r) => !isStreamRead(r))),
    perBatch: model.tally(rs.filter(isPerBatch)),
    received: sum(batches(MAIN_QUEUE).map((r) => r.messages!)),
    perStreamBatch: model.tally(rs.filter(isCounting)),
    streamRecords: sum(rs.filter(isStreamRead).map((r) => r.records ?? 0)),
    apiRequests,
    invocations: { api: apiRequests, worker: batches(MAIN_QUEUE).length, taskRunner: batches(TASK_QUEUE).length, counter },
    logBytes,
  };
};

const perHour = ({ pass }: ScheduledPoint) => ({
  readUnits: PASSES_AN_HOUR * pass.readUnits,
  requests: PASSES_AN_HOUR * sum(Object.values(pass.requests)),
});

/** Before each point `extra` completed jobs seeded (uncounted), then one pass of the reconcile handler, in this process. */
const measureScheduled = async (output: string, logFile: string, extra: readonly number[]): Promise<ScheduledPoint[]> => {
  const [, dynamoDb, sqsEndpoint] = /DynamoDB API \(dynalite\) at (\S+), SQS API \(fauxqs\) at (\S+)/.exec(output) ?? [];
  if (!sqsEndpoint) throw new Error('the runtime printed no emulator endpoints');
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: dynamoDb,
    AWS_ENDPOINT_URL_SQS: sqsEndpoint,
  });
  const { SQSClient, GetQueueUrlCommand } = await import('@aws-sdk/client-sqs');
  const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });
  const url = async (QueueName: string) => (await sqs.send(new GetQueueUrlCommand({ QueueName }))).QueueUrl!;
  const dlq = await url('requeue-jobs-dlq');
  // the handler's modules read their settings as they load: after these
  Object.assign(process.env, {
    REQUEUE_TABLE_NAME: 'requeue-jobs',
    REQUEUE_QUEUE_URL: await url(MAIN_QUEUE),
    REQUEUE_DLQ_URL: dlq,
    REQUEUE_TASK_QUEUE_URL: await url(TASK_QUEUE),
  });
  (await import('./cost-counter')).installCostCounter(logFile);
  const { handler } = await import('../lambda/handlers/reconcile');
  const { services } = await import('../lambda/adapters/services');
  const { completedJob, seedJobs } = await import('./seed');
  const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
  const { DynamoDBDocumentClient } = await import('@aws-sdk/lib-dynamodb');
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}));
  const target = { doc, tableName: 'requeue-jobs', sqs, deadLetterQueueUrl: dlq, concurrency: 4 };
  // the workload's jobs, as the counters have them; seeded jobs bypass the counters
  const workloadJobs = sum(Object.values(await services().store.countByState()));
  const points: ScheduledPoint[] = [];
  let seeded = 0;
  for (const count of extra) {
    await seedJobs(target, count, (i) => completedJob(seeded + i, Date.now()));
    seeded += count;
    const from = readLog(logFile).length;
    await handler();
    const ours = readLog(logFile).slice(from).filter((r) => r.caller === 'reconcile' || r.caller === 'bench:cost');
    points.push({ retained: workloadJobs + seeded, pass: model.tally(ours) });
  }
  return points;
};

/** The counter, bundled for `node --require`. */
const buildCounter = async (): Promise<string> => {
  const outfile = path.join(ROOT, 'dist/bench/cost-counter.cjs');
  const entryPoints = [path.join(ROOT, 'bench/cost-counter.ts')];
  await build({ entryPoints, outfile, bundle: true, platform: 'node', target: 'node20', packages: 'external', logLevel: 'warning' });
  return outfile;
};

type Outcome = 'completed' | 'failed';

/** The workload through a fresh local runtime, phase by phase; then the schedule's work at each of `scheduledAt`. */
export const runCostWorkload = async (
  workload: CostWorkload,
  scheduledAt: readonly number[] = [],
): Promise<{ phases: Phase[]; scheduled: ScheduledPoint[] }> => {
  const counter = await buildCounter();
  const logFile = path.join(tmpdir(), `requeue-cost-${process.pid}-${Date.now()}.jsonl`);
  const stackLimit = workload.stackFrames === undefined ? [] : [`--stack-trace-limit=${workload.stackFrames}`];
  const env = {
    REQUEUE_COST_LOG: logFile,
    // a job runs well within the stream's window from its enqueue, and the next starts once it is counted: each job's
    // changes come to the counting function as one batch, run after run, as a busy stream's do on AWS (hundreds a batch)
    REQUEUE_STREAM_WINDOW_MS: '2000',
    NODE_OPTIONS: [`--require ${counter}`, '--enable-source-maps', ...stackLimit].join(' '),
  };
  const runtime = await startLocalRuntime({ env, startupBudgetMs: 60_000 });
  const post = async (route: string, body?: unknown, status = 201) => {
    const answer = await runtime.request('POST', route, body);
    if (answer.status !== status) throw new Error(`POST ${route} answered ${answer.status}: ${answer.text}`);
    return answer.body;
  };
  // settled: the event source deleted every message sent (then each request of its job has been sent) and the counters,
  // which follow the table's stream, have every outcome, so that the counting function's work lands in its phase
  const sent = { messages: 0, completed: 0, failed: 0 };
  const awaiting = (messages: number, outcome: Outcome) => {
    sent.messages += messages;
    sent[outcome] += messages;
  };
  const seen = async () => {
    const { throughput } = (await runtime.request('GET', '/jobs/metrics')).body as { throughput: { completed: number; failed: number }[] };
    const deletes = readLog(logFile).filter((r) => fromEventSource(r, 'DeleteMessageBatch'));
    return {
      deleted: sum(deletes.map((r) => r.messages ?? 0)),
      completed: sum(throughput.map((m) => m.completed)),
      failed: sum(throughput.map((m) => m.failed)),
    };
  };
  const allSeen = (s: Awaited<ReturnType<typeof seen>>) => s.deleted >= sent.messages && s.completed === sent.completed && s.failed === sent.failed;
  const settled = () => waitFor(seen, allSeen, `all of ${JSON.stringify(sent)}`, WAIT_MS, 20);
  const phases: Phase[] = [];
  const phase = async (name: Phase['name'], jobs: number, apiRequests: number, run: () => Promise<void>) => {
    const from = readLog(logFile).length;
    const outputFrom = Buffer.byteLength(runtime.output(), 'utf8');
    await run();
    await settled();
    const rs = readLog(logFile).slice(from);
    const logBytes = Buffer.byteLength(runtime.output(), 'utf8') - outputFrom;
    const usage = usageOf(rs.filter((r) => !isIdleReceive(r) && !NOT_THE_WORKLOAD.test(r.caller)), apiRequests, logBytes);
    const unattributed = rs.filter((r) => r.caller === 'unknown').length;
    phases.push({ name, jobs, usage, idleReceives: rs.filter(isIdleReceive).length, unattributed });
  };
  const oneByOne = (jobs: number, outcome: Outcome, body: (i: number) => unknown) => async () => {
    for (let i = 0; i < jobs; i++) {
      await post('/jobs', body(i));
      awaiting(1, outcome);
      await settled();
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
      awaiting(failing, 'failed');
    });
    const scheduled = scheduledAt.length > 0 ? await measureScheduled(runtime.output(), `${logFile}.scheduled`, scheduledAt) : [];
    return { phases, scheduled };
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
const keys = (c: Ceiling) => c.keys.map((k) => `\`${k}\``).join(', ');
const section = (title: string, ...lines: string[]) => ['', `## ${title}`, '', ...lines];
const dollars = (label: string, d: Dollars) => [label, ...[d.dynamoDb, d.sqs, d.apiGateway, d.lambda, d.logs].map(money), `**${money(d.total)}**`];
const floor = (attempts: number, deadLettered: boolean, batchSize?: number) =>
  perMillionJobs(model.floorUsage(attempts, deadLettered, batchSize), 1);

/** The last two points: the first pass after the workload also sweeps the dead-letter queue, once. */
const scheduledGrowth = (scheduled: readonly ScheduledPoint[]) => {
  const [small, large] = scheduled.slice(-2);
  if (!small) return undefined;
  const smallHour = perHour(small);
  const growth = large ? (perHour(large).readUnits - smallHour.readUnits) / (large.retained - small.retained) : 0;
  return { growth, atMillion: smallHour.readUnits + growth * (1_000_000 - small.retained) };
};

/** docs/COST.md's generated part: the figures of one run; the page's hand-written part says how they are made. */
export const costReport = (phases: readonly Phase[], scheduled: readonly ScheduledPoint[], command: string, shards = DEFAULT_SHARDS): string => {
  const batch = QUEUE_SETTINGS.batchSize;
  const stream = model.STREAM_BATCH_AT_LOAD;
  const doubled = { index: 2 * shards.index, counters: 2 * shards.counters };
  // each phase as run (one message a worker batch, but for the retry-all's), then with every batch full
  const [oneSucceeded, oneFailing] = phases as [Phase, Phase, Phase];
  const [succeeded, failing, retry] = phases.map((p) => ({ ...p, usage: atBatchSize(p.usage, batch) })) as [Phase, Phase, Phase];
  const price = (p: Phase, streamBatch?: number): Dollars =>
    perMillionJobs(streamBatch ? atBatchSize(p.usage, batch, streamBatch) : p.usage, p.jobs);
  const hot = ceiling(succeeded.usage.tally, succeeded.jobs, shards);
  const hotFailing = ceiling(failing.usage.tally, failing.jobs, shards);
  const hot2 = ceiling(succeeded.usage.tally, succeeded.jobs, doubled);
  const hot2Failing = ceiling(failing.usage.tally, failing.jobs, doubled);
  const ratio = hot2.jobsPerSecond / hot.jobsPerSecond;
  const hours = scheduled.map(perHour);
  const { growth, atMillion } = scheduledGrowth(scheduled) ?? { growth: 0, atMillion: 0 };

  const verdict = (target: string, measured: string, pass: boolean) => [target, measured, pass ? 'PASS' : 'FAIL'];
  const verdicts = [
    verdict(`a successful job ≤ $6.00 per million (${batch} a batch)`, money(price(succeeded).total), price(succeeded).total <= 6),
    verdict(`a job failing 3 attempts ≤ $12.40 per million (${batch} a batch)`, money(price(failing).total), price(failing).total <= 12.4),
    verdict(
      `throughput ceiling ≥ 10,000 jobs/s (${shards.index} index shards, ${shards.counters} counter shards)`,
      `${rate(hot.jobsPerSecond)} (${keys(hot)})`,
      hot.jobsPerSecond >= 10_000,
    ),
    verdict(
      'twice that with twice the shards',
      `${rate(hot2.jobsPerSecond)} at ${doubled.index} and ${doubled.counters} (× ${num(ratio)}; ${keys(hot2)})`,
      ratio >= 2 - 1e-9,
    ),
  ];
  if (scheduledGrowth(scheduled)) {
    const measured = `${num(growth * 1000, 1)} read units an hour more per 1,000 retained jobs`;
    verdicts.push(verdict('no scheduled work whose reads grow with the retained jobs', measured, growth === 0));
  }

  const usd = (at: string, size: number | undefined, s: Phase, f: Phase) => [
    dollars(`successful job, ${at}`, price(s)),
    dollars(`floor: successful job, ${at}`, floor(1, false, size)),
    dollars(`job failing 3 attempts, ${at}`, price(f)),
    dollars(`floor: job failing 3 attempts, ${at}`, floor(3, true, size)),
  ];
  const dollarRows = [
    ...usd(`${batch} a batch`, batch, succeeded, failing),
    dollars(`retried by retry-all, failing 3 attempts again, ${batch} a batch`, price(retry)),
    ...usd('one at a time', undefined, oneSucceeded, oneFailing),
  ];

  const columns = [oneSucceeded, succeeded, oneFailing, failing, retry];
  const labels = [
    'successful, one at a time',
    `successful, ${batch} a batch`,
    'failing 3 attempts, one at a time',
    `failing 3 attempts, ${batch} a batch`,
    `retry-all, ${batch} a batch`,
  ];
  const perJob = (label: string, cell: (u: Usage, jobs: number) => string) => [label, ...columns.map((p) => cell(p.usage, p.jobs))];
  const used = (p: Phase) => Object.entries(p.usage.tally.requests).filter(([, n]) => n > 0).map(([op]) => op);
  const operations = [...new Set(columns.flatMap(used))].sort();
  const indexShare = ({ tally: t }: Usage, j: number) => `${num(t.indexWriteUnits / j)} (${Math.round((100 * t.indexWriteUnits) / t.writeUnits)}%)`;
  const invocations = ({ invocations: i }: Usage, j: number) => `${num(i.api / j)}, ${num(i.worker / j)}, ${num(i.counter / j, 3)}`;
  const perJobRows = [
    ...operations.map((op) => perJob(op, (u, j) => num((u.tally.requests[op] ?? 0) / j))),
    perJob('DynamoDB write units (table and indexes)', (u, j) => num(u.tally.writeUnits / j)),
    perJob('of which index write units', indexShare),
    perJob('DynamoDB read units', (u, j) => num(u.tally.readUnits / j)),
    perJob('SQS requests billed (per 64 KiB)', (u, j) => num(u.tally.sqsBilled / j)),
    perJob('API requests', (u, j) => num(u.apiRequests / j)),
    perJob('Lambda invocations (API, worker, stream counter)', invocations),
    perJob('log bytes written by the handlers', (u, j) => num(u.logBytes / j, 0)),
  ];

  const hottest = (label: string, c: Ceiling, c2: Ceiling) => [
    label,
    keys(c),
    `${c.shards} (${c.shardsSeen})`,
    `${num(c.unitsPerJob)} / ${num(c.unitsPerJobPerShard, 4)}`,
    rate(c.jobsPerSecond),
    rate(c2.jobsPerSecond),
  ];
  const hottestHead = ['jobs', 'hottest key families', 'shards (touched in this run)', 'write units per job, family / one shard', 'ceiling', 'with twice the shards'];
  const monthOfReads = (units: number) => money((units * 24 * 30 * PRICES.dynamoDbReadPerMillionUnits) / 1e6);
  const idlePollers = money((2 * IDLE_RECEIVES_AN_HOUR * PRICES.sqsPerMillionRequests * 24 * 30) / 1e6);
  const scheduledRows = scheduled.map((p, i) => [String(p.retained), num(p.pass.readUnits), String(hours[i]!.readUnits), String(hours[i]!.requests)]);
  const { LAMBDA } = model;

  return [
    '# What requeue costs on AWS\n',
    `Made by \`${command}\`: ${phases[0]!.jobs} successful jobs, ${phases[1]!.jobs} jobs failing 3 attempts, one retry-all of them that fail 3 attempts again. "${batch} a batch":`,
    `what a worker batch pays once spread over full batches of ${batch} (the event source's BatchSize), and the counting function's over stream batches of ${stream} changes`,
    `(its BatchSize); with stream batches a tenth as full a successful job costs ${money(price(oneSucceeded, stream / 10).total)} and a failing one ${money(price(oneFailing, stream / 10).total)}.`,
    ...section('Targets', ...table([['target', 'measured', 'result'], ...verdicts])),
    ...section('US$ per million jobs', ...table([['per million', 'DynamoDB', 'SQS', 'API Gateway', 'Lambda', 'Logs', 'total'], ...dollarRows])),
    ...section('Per job', ...table([['per job', ...labels], ...perJobRows])),
    ...section(
      'The hottest partition key',
      `Write units per job, ${batch} a batch, by partition key family, at about ${fixed(model.PARTITION_WCU_PER_SECOND)} write units a second a partition;` +
        ` REQUEUE_INDEX_SHARDS ${shards.index} in this run, COUNTER_SHARDS ${shards.counters}; "twice the shards" is ${doubled.index} and ${doubled.counters}.`,
      '',
      ...table([hottestHead, hottest('successful', hot, hot2), hottest('failing 3 attempts', hotFailing, hot2Failing)]),
    ),
    ...section(
      'Scheduled work, as the table grows',
      `An hour is ${PASSES_AN_HOUR} passes. Read units an hour grow by ${num(growth * 1000, 1)} per 1,000 retained jobs; extrapolated linearly` +
        ` from the last two sizes, at 1,000,000 retained jobs the schedule reads **${fixed(atMillion)} read units an hour** (${monthOfReads(atMillion)} a month).`,
      '',
      ...table([['retained jobs', 'read units a pass', 'read units an hour, were every pass so', 'requests an hour'], ...scheduledRows]),
      '',
      `AWS's idle pollers, about ${IDLE_RECEIVES_AN_HOUR} ReceiveMessage an hour a queue, cost ${idlePollers} a month` +
        ` for both queues; the local pollers' ${sum(phases.map((p) => p.idleReceives))} empty receives in this run are left out of the figures above.`,
    ),
    ...section(
      'Prices and assumptions',
      `us-east-1, on-demand, list prices as of ${model.PRICES_AS_OF} (\`PRICE_ROWS\` in bench/cost-model.ts):`,
      '',
      ...table([['item', 'US$'], ...Object.values(model.PRICE_ROWS).map(([usd, item]) => [item, String(usd)])]),
      '',
      `- Lambda durations, modelled: ${LAMBDA.billedMs.api} ms an API invocation, ${LAMBDA.billedMs.worker} ms a worker batch, at ${LAMBDA.memoryGb * 1024} MB, arm64.`,
      `- Logs: the handlers' bytes, plus ${LAMBDA.platformLogBytes} bytes of Lambda's own records per invocation; at \`-c lambdaSystemLogLevel=INFO\` they are about` +
        ` ${model.INFO_PLATFORM_LOG_BYTES} bytes an invocation, some $0.15 per million successful jobs.`,
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
    const { phases, scheduled } = await runCostWorkload({ succeeded, failing }, [0, 1_000, 1_000]);
    // a setting of the runtime (it inherits this environment), not of the bench
    const shards = { ...DEFAULT_SHARDS, index: Number(process.env.REQUEUE_INDEX_SHARDS ?? DEFAULT_SHARDS.index) };
    const markdown = costReport(phases, scheduled, command, shards);
    writeReport(path.resolve(ROOT, out), markdown, { keep: true });
    process.stdout.write(`${markdown}\nWrote ${out}\n`);
  });
}
