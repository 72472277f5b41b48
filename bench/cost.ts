/**
 * `npm run bench:cost`: what requeue costs on AWS and how far it scales there,
 * counted from the requests the handlers send in a run of the local runtime
 * (bench/cost-counter.ts), priced by bench/cost-model.ts. Jobs run one at a
 * time, so every count is the same run after run; it writes docs/COST.md.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { JOB_CHANGES_COUNTER } from '../lambda/routes';
import { ROOT } from '../local/launcher';
import { removeDataDir, startLocalRuntime, type LocalRuntime } from '../local/launcher';
import type { CountedRequest } from './cost-counter';
import { QUEUE_SETTINGS } from '../lambda/adapters/settings';
import { atBatchSize, STREAM_BATCH_AT_LOAD, ceiling, DEFAULT_SHARDS, floorUsage, LAMBDA, perMillionJobs, PRICES, tally, type Dollars, type Shards, type Tally, type Usage } from './cost-model';
import { waitFor } from './load';
import { runBench } from './options';
import { table, writeReport } from './report';

export interface CostWorkload {
  /** `demo.echo` jobs, completing at their first attempt. */
  readonly succeeded: number;
  /** `demo.fail` jobs of 3 attempts, then one retry-all of them (which fail 3 attempts again). */
  readonly failing: number;
  /**
   * Frames kept in a stack trace (node's --stack-trace-limit). A frame names
   * its file by its full path, so the size of a failure's stack item, and
   * whether it passes a 1 KB write unit, depends on where the project is
   * checked out: exact counts take 0, the message line alone. @default V8's 10
   */
  readonly stackFrames?: number;
}

export interface Phase {
  readonly name: 'succeeded' | 'failing' | 'retry-all';
  readonly jobs: number;
  readonly usage: Usage;
  /** Empty receives of the event-source pollers and requests of no caller found, left out of `usage`. */
  readonly idleReceives: number;
  readonly unattributed: number;
}

const MAIN_QUEUE = 'requeue-jobs';
const TASK_QUEUE = 'requeue-jobs-tasks';
const WAIT_MS = 120_000;
/** The local stream's batching window in this run. */
const STREAM_WINDOW_MS = 2_000;
/** Requests a user's call does not make: the runtime starting, the bench looking, requests of no awaited chain. */
const NOT_THE_WORKLOAD = /^(local:(main|provision)|bench:.*|unknown|get-job|get-metrics|list-failed-jobs|get-retry-task)$/;

// the runtime appends while the bench reads: a last line without its newline is still being written
const readLog = (file: string): CountedRequest[] =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .slice(0, -1)
        .filter(Boolean)
        .map((line) => JSON.parse(line) as CountedRequest)
    : [];

const isIdleReceive = (r: CountedRequest) => r.caller === 'local:event-source' && r.operation === 'ReceiveMessage' && r.messages === 0;

/** The counter, bundled for `node --require`. */
const buildCounter = async (): Promise<string> => {
  const outfile = path.join(ROOT, 'dist/bench/cost-counter.cjs');
  await build({
    entryPoints: [path.join(ROOT, 'bench/cost-counter.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  });
  return outfile;
};

const isStreamRead = (r: CountedRequest) => r.service === 'dynamodb-streams';
const COUNTER_ITEM = /^(COUNTS|THROUGHPUT)#/;
const keyOf = (r: CountedRequest) => String((r.after ?? r.before ?? r.offered)?.pk?.S ?? '');

/** What a worker batch pays once: the event source's receive and delete, the worker's hiding and counter writes. */
export const isPerBatch = (r: CountedRequest): boolean =>
  (r.caller === 'local:event-source' && r.queue === MAIN_QUEUE && (r.operation === 'ReceiveMessage' || r.operation === 'DeleteMessageBatch')) ||
  (r.caller === 'worker' && r.operation === 'ChangeMessageVisibilityBatch') ||
  (r.caller === 'worker' && r.service === 'dynamodb' && COUNTER_ITEM.test(keyOf(r)));

const usageOf = (requests: readonly CountedRequest[], apiRequests: number, logBytes: number): Usage => {
  const receives = (queue: string) =>
    requests.filter((r) => r.caller === 'local:event-source' && r.operation === 'ReceiveMessage' && r.queue === queue && r.messages! > 0);
  const received = (queue: string) => receives(queue).length;
  return {
    // the stream's reads are free to its Lambda trigger: what they bring counts as the counting function's invocations
    tally: tally(requests.filter((r) => !isStreamRead(r))),
    perBatch: tally(requests.filter(isPerBatch)),
    received: receives(MAIN_QUEUE).reduce((n, r) => n + r.messages!, 0),
    perStreamBatch: tally(requests.filter((r) => r.caller === JOB_CHANGES_COUNTER.handler && !isStreamRead(r))),
    streamRecords: requests.filter(isStreamRead).reduce((n, r) => n + (r.records ?? 0), 0),
    apiRequests,
    invocations: {
      api: apiRequests,
      worker: received(MAIN_QUEUE),
      taskRunner: received(TASK_QUEUE),
      // one a batch: each batch the function wrote names itself on the counter items (a batch whose changes net
      // to nothing writes nothing, and is missed here; the workload's batches each end jobs, so none is)
      counter: new Set(requests.filter((r) => r.caller === JOB_CHANGES_COUNTER.handler && r.after?.lastBatch).map((r) => r.after!.lastBatch!.S)).size,
    },
    logBytes,
  };
};

export interface ScheduledPoint {
  /** Jobs in the table. */
  readonly retained: number;
  /** One reconciler pass (the schedule's only work: a recount runs on demand, POST /jobs/recount). */
  readonly pass: Tally;
}

/** An hour of the schedule: 60 passes. */
export const perHour = (point: ScheduledPoint) => ({
  readUnits: 60 * point.pass.readUnits,
  writeUnits: 60 * point.pass.writeUnits,
  requests: 60 * Object.values(point.pass.requests).reduce((a, b) => a + b, 0),
});

/**
 * The reconciler's work as the table grows: `extra` completed jobs seeded
 * (uncounted) before each point, then one pass of the reconcile handler, run
 * in this process against the runtime's emulators through
 * the same counter.
 */
const measureScheduled = async (output: string, logFile: string, extra: readonly number[]): Promise<ScheduledPoint[]> => {
  const endpoints = /DynamoDB API \(dynalite\) at (\S+), SQS API \(fauxqs\) at (\S+)/.exec(output);
  if (!endpoints) throw new Error('the runtime printed no emulator endpoints');
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: endpoints[1],
    AWS_ENDPOINT_URL_SQS: endpoints[2],
  });
  const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
  const { DynamoDBDocumentClient } = await import('@aws-sdk/lib-dynamodb');
  const { SQSClient, GetQueueUrlCommand } = await import('@aws-sdk/client-sqs');
  const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });
  const url = async (name: string) => (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl!;
  Object.assign(process.env, {
    REQUEUE_TABLE_NAME: 'requeue-jobs',
    REQUEUE_QUEUE_URL: await url(MAIN_QUEUE),
    REQUEUE_DLQ_URL: await url('requeue-jobs-dlq'),
    REQUEUE_TASK_QUEUE_URL: await url(TASK_QUEUE),
  });
  const { installCostCounter } = await import('./cost-counter');
  installCostCounter(logFile);
  const { handler } = await import('../lambda/handlers/reconcile');
  const { services } = await import('../lambda/adapters/services');
  const { completedJob, seedJobs } = await import('./seed');
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}));
  const target = { doc, tableName: 'requeue-jobs', sqs, deadLetterQueueUrl: process.env.REQUEUE_DLQ_URL!, concurrency: 4 };
  const points: ScheduledPoint[] = [];
  // the workload's jobs, as the counters have them; seeded jobs bypass the counters
  const workloadJobs = Object.values(await services().store.countByState()).reduce((a, b) => a + b, 0);
  let seeded = 0;
  for (const count of extra) {
    await seedJobs(target, count, (i) => completedJob(seeded + i, Date.now()));
    seeded += count;
    const from = readLog(logFile).length;
    await handler();
    const lines = readLog(logFile);
    const ours = (r: CountedRequest) => r.caller === 'reconcile' || r.caller === 'bench:cost';
    points.push({ retained: workloadJobs + seeded, pass: tally(lines.slice(from).filter(ours)) });
  }
  return points;
};

/** The workload through a fresh local runtime, phase by phase; then the schedule's work at two table sizes. */
export const runCostWorkload = async (
  workload: CostWorkload,
  scheduledAt: readonly number[] = [],
): Promise<{ phases: Phase[]; scheduled: ScheduledPoint[] }> => {
  const counter = await buildCounter();
  const logFile = path.join(tmpdir(), `requeue-cost-${process.pid}-${Date.now()}.jsonl`);
  const runtime: LocalRuntime = await startLocalRuntime({
    env: {
      REQUEUE_COST_LOG: logFile,
      // a job runs in well under this from its enqueue, and the next starts once it is counted: each job's changes
      // come to the counting function as one batch, run after run, as a busy stream's do on AWS (hundreds a batch)
      REQUEUE_STREAM_WINDOW_MS: String(STREAM_WINDOW_MS),
      NODE_OPTIONS: [`--require ${counter}`, '--enable-source-maps', ...(workload.stackFrames === undefined ? [] : [`--stack-trace-limit=${workload.stackFrames}`])].join(' '),
    },
    startupBudgetMs: 60_000,
  });
  // a message is done once the event source deleted it: then every request of its job has been sent
  let deleted = 0;
  const allDeleted = () =>
    waitFor(
      async () => readLog(logFile).filter((r) => r.caller === 'local:event-source' && r.operation === 'DeleteMessageBatch' && r.queue === MAIN_QUEUE),
      (deletes) => deletes.reduce((n, r) => n + (r.messages ?? 0), 0) >= deleted,
      `${deleted} job message(s) deleted`,
      WAIT_MS,
      20,
    );
  const post = async (route: string, body?: unknown, status = 201) => {
    const answer = await runtime.request('POST', route, body);
    if (answer.status !== status) throw new Error(`POST ${route} answered ${answer.status}: ${answer.text}`);
    return answer.body;
  };
  // the outcomes so far: a phase ends once the counters, which follow the table's stream, have them all (its jobs'
  // last changes), so that the counting function's work lands in the phase that caused it
  const outcomes = { completed: 0, failed: 0 };
  const counted = () =>
    waitFor(
      async () => (await runtime.request('GET', '/jobs/metrics')).body as { throughput: { completed: number; failed: number }[] },
      ({ throughput }) =>
        throughput.reduce((n, m) => n + m.completed, 0) === outcomes.completed && throughput.reduce((n, m) => n + m.failed, 0) === outcomes.failed,
      `${outcomes.completed} completed and ${outcomes.failed} failed executions counted`,
      WAIT_MS,
      20,
    );
  const phases: Phase[] = [];
  const phase = async (name: Phase['name'], jobs: number, apiRequests: number, run: () => Promise<void>) => {
    const from = readLog(logFile).length;
    const outputFrom = Buffer.byteLength(runtime.output(), 'utf8');
    await run();
    await counted();
    const lines = readLog(logFile).slice(from);
    const workload = lines.filter((r) => !isIdleReceive(r) && r.caller !== 'reconcile' && !NOT_THE_WORKLOAD.test(r.caller));
    const logBytes = Buffer.byteLength(runtime.output(), 'utf8') - outputFrom;
    phases.push({
      name,
      jobs,
      usage: usageOf(workload, apiRequests, logBytes),
      idleReceives: lines.filter(isIdleReceive).length,
      unattributed: lines.filter((r) => r.caller === 'unknown').length,
    });
  };
  try {
    await phase('succeeded', workload.succeeded, workload.succeeded, async () => {
      for (let i = 0; i < workload.succeeded; i++) {
        await post('/jobs', { name: 'demo.echo', data: { to: `customer-${i}@example.com`, n: i } });
        deleted += 1;
        outcomes.completed += 1;
        await allDeleted();
        await counted();
      }
    });
    const opts = { attempts: 3, backoff: { type: 'fixed', delay: 0 } };
    await phase('failing', workload.failing, workload.failing, async () => {
      for (let i = 0; i < workload.failing; i++) {
        await post('/jobs', { name: 'demo.fail', data: { message: `card declined ${i}` }, opts });
        deleted += 1;
        outcomes.failed += 1;
        await allDeleted();
        await counted();
      }
    });
    await phase('retry-all', workload.failing, 1, async () => {
      const answer = await post('/jobs/retry-all-failed', undefined, 200);
      if (answer.retriedCount !== workload.failing) throw new Error(`retry-all retried ${JSON.stringify(answer)}`);
      deleted += workload.failing;
      outcomes.failed += workload.failing;
      await allDeleted();
    });
    const scheduled = scheduledAt.length > 0 ? await measureScheduled(runtime.output(), `${logFile}.scheduled`, scheduledAt) : [];
    return { phases, scheduled };
  } finally {
    await runtime.kill();
    removeDataDir(runtime.dataDir);
    if (process.env.COST_KEEP_LOG) process.stderr.write(`Kept the request logs: ${logFile}, ${logFile}.scheduled\n`);
    else {
      rmSync(logFile, { force: true });
      rmSync(`${logFile}.scheduled`, { force: true });
    }
  }
};

const money = (n: number) => `$${n.toFixed(2)}`;
const fixed = (n: number, digits = 2) => (Number.isInteger(n) ? String(n) : n.toFixed(digits));
const rate = (perSecond: number) => `${Math.floor(perSecond).toLocaleString('en-US')} jobs/s`;

interface Verdict {
  readonly target: string;
  readonly measured: string;
  readonly pass: boolean;
}

/** docs/COST.md: one page, from the phases of one run. */
export const costReport = (
  workload: CostWorkload,
  phases: readonly Phase[],
  scheduled: readonly ScheduledPoint[],
  command: string,
  shards: Shards = DEFAULT_SHARDS,
): { markdown: string; verdicts: Verdict[] } => {
  const batch = QUEUE_SETTINGS.batchSize;
  // each phase as measured (one message a worker batch, but for the retry-all's) and with every batch full
  const loaded = (p: Phase): Phase => ({ ...p, usage: atBatchSize(p.usage, batch) });
  const [succeeded, failing, retry] = (phases as [Phase, Phase, Phase]).map(loaded) as [Phase, Phase, Phase];
  const [oneSucceeded, oneFailing] = phases as [Phase, Phase, Phase];
  const price = (p: Phase): Dollars => perMillionJobs(p.usage, p.jobs);
  const floors = {
    succeeded: perMillionJobs(floorUsage(1, false, batch), 1),
    failing: perMillionJobs(floorUsage(3, true, batch), 1),
    oneSucceeded: perMillionJobs(floorUsage(1, false), 1),
    oneFailing: perMillionJobs(floorUsage(3, true), 1),
  };
  const dollarsRow = (label: string, d: Dollars) =>
    `| ${label} | ${money(d.dynamoDb)} | ${money(d.sqs)} | ${money(d.apiGateway)} | ${money(d.lambda)} | ${money(d.logs)} | **${money(d.total)}** |`;
  const columns: Array<readonly [string, Phase]> = [
    ['successful, one at a time', oneSucceeded],
    [`successful, ${batch} a batch`, succeeded],
    ['failing 3 attempts, one at a time', oneFailing],
    [`failing 3 attempts, ${batch} a batch`, failing],
    [`retry-all, ${batch} a batch`, retry],
  ];
  const operations = [...new Set(columns.flatMap(([, p]) => Object.keys(p.usage.tally.requests)))]
    .filter((op) => columns.some(([, p]) => (p.usage.tally.requests[op] ?? 0) > 0))
    .sort();
  const doubled = { index: 2 * shards.index, counters: 2 * shards.counters };
  const hot = { succeeded: ceiling(succeeded.usage.tally, succeeded.jobs, shards), failing: ceiling(failing.usage.tally, failing.jobs, shards) };
  const hot2 = { succeeded: ceiling(succeeded.usage.tally, succeeded.jobs, doubled), failing: ceiling(failing.usage.tally, failing.jobs, doubled) };
  const ratio = hot2.succeeded.jobsPerSecond / hot.succeeded.jobsPerSecond;
  const verdicts: Verdict[] = [
    { target: `a successful job ≤ $6.00 per million (${batch} a batch)`, measured: money(price(succeeded).total), pass: price(succeeded).total <= 6 },
    { target: `a job failing 3 attempts ≤ $12.40 per million (${batch} a batch)`, measured: money(price(failing).total), pass: price(failing).total <= 12.4 },
    {
      target: `throughput ceiling ≥ 10,000 jobs/s (${shards.index} index shards, ${shards.counters} counter shards)`,
      measured: `${rate(hot.succeeded.jobsPerSecond)} (${hot.succeeded.keys.map((k) => `\`${k}\``).join(', ')})`,
      pass: hot.succeeded.jobsPerSecond >= 10_000,
    },
    {
      target: 'twice that with twice the shards',
      measured: `${rate(hot2.succeeded.jobsPerSecond)} at ${doubled.index} and ${doubled.counters} (× ${fixed(ratio)}; ${hot2.succeeded.keys.map((k) => `\`${k}\``).join(', ')})`,
      pass: ratio >= 2 - 1e-9,
    },
  ];
  // the last two points: the first pass after the workload also sweeps the dead-letter queue, once
  const [small, large] = scheduled.slice(-2) as [ScheduledPoint, ScheduledPoint];
  const [smallHour, largeHour] = scheduled.slice(-2).map(perHour);
  const growth = small && large ? (largeHour!.readUnits - smallHour!.readUnits) / (large.retained - small.retained) : 0;
  const atMillion = small ? smallHour!.readUnits + growth * (1_000_000 - small.retained) : 0;
  const hours = scheduled.map(perHour);
  const scheduledRows = scheduled.map(
    (p, i) => [String(p.retained), fixed(p.pass.readUnits), fixed(hours[i]!.readUnits), String(hours[i]!.requests)],
  );
  const grows = `${fixed(growth * 1000, 1)} read units an hour more per 1,000 retained jobs`;
  if (small) verdicts.push({ target: 'no scheduled work whose reads grow with the retained jobs', measured: grows, pass: growth === 0 });
  const lines = [
    '# What requeue costs on AWS',
    '',
    `Made by \`${command}\` (${workload.succeeded} successful jobs, ${workload.failing} jobs failing 3 attempts, one retry-all of`,
    'them that fail 3 attempts again), counted from every request the handlers and the event-source emulation sent in',
    'a run of the local runtime. Jobs run one at a time, so each worker batch holds one message and the counts are the',
    `same run after run. A busy queue hands the worker ${batch} messages a batch (the event source's BatchSize): what a batch`,
    "pays once (the event source's ReceiveMessage and DeleteMessageBatch, the worker's invocation and its one",
    'ChangeMessageVisibilityBatch and counter writes) is then shared by 10 jobs. The targets are taken there, with the',
    `requests each batch made in this run spread over full batches of ${batch}; the retry-all's jobs are all sent at once, so`,
    'its batches were already near full (their sizes, and so those few figures, vary a little from run to run).',
    `The counting function, fed by the table's stream, is priced likewise with batches of ${STREAM_BATCH_AT_LOAD} changes (its BatchSize);`,
    `with batches a tenth as full a successful job costs ${money(perMillionJobs(atBatchSize(oneSucceeded.usage, batch, STREAM_BATCH_AT_LOAD / 10), oneSucceeded.jobs).total)} and a failing one ${money(perMillionJobs(atBatchSize(oneFailing.usage, batch, STREAM_BATCH_AT_LOAD / 10), oneFailing.jobs).total)}.`,
    '',
    '## Targets',
    '',
    '| target | measured | |',
    '|---|---|---|',
    ...verdicts.map((v) => `| ${v.target} | ${v.measured} | ${v.pass ? 'PASS' : 'FAIL'} |`),
    '',
    '## US$ per million jobs',
    '',
    '| per million | DynamoDB | SQS | API Gateway | Lambda | Logs | total |',
    '|---|---|---|---|---|---|---|',
    dollarsRow(`successful job, ${batch} a batch`, price(succeeded)),
    dollarsRow(`floor: successful job, ${batch} a batch`, floors.succeeded),
    dollarsRow(`job failing 3 attempts, ${batch} a batch`, price(failing)),
    dollarsRow(`floor: job failing 3 attempts, ${batch} a batch`, floors.failing),
    dollarsRow(`retried by retry-all, failing 3 attempts again, ${batch} a batch`, price(retry)),
    dollarsRow('successful job, one at a time', price(oneSucceeded)),
    dollarsRow('floor: successful job, one at a time', floors.oneSucceeded),
    dollarsRow('job failing 3 attempts, one at a time', price(oneFailing)),
    dollarsRow('floor: job failing 3 attempts, one at a time', floors.oneFailing),
    '',
    'The floor of this design, per job: record the job, fence each execution, record each outcome, one write of a',
    'small item (≤ 1 KB, no index entry) each: 1 + 2 × attempts write units (3, and 7 for 3 attempts, where the issue',
    "counts 8); the send, receive and delete of each attempt's message, and a failed job's dead-letter copy; one API",
    "request; the API's invocation and a worker invocation per attempt (receive, delete and invocation shared by a",
    'batch as above), with the durations and log lines below.',
    '',
    '## Per job',
    '',
    `| per job | ${columns.map(([label]) => label).join(' | ')} |`,
    `|---|${columns.map(() => '---|').join('')}`,
    ...operations.map((op) => `| ${op} | ${columns.map(([, p]) => fixed((p.usage.tally.requests[op] ?? 0) / p.jobs)).join(' | ')} |`),
    `| DynamoDB write units (table and indexes) | ${columns.map(([, p]) => fixed(p.usage.tally.writeUnits / p.jobs)).join(' | ')} |`,
    `| of which index write units | ${columns.map(([, p]) => `${fixed(p.usage.tally.indexWriteUnits / p.jobs)} (${Math.round((100 * p.usage.tally.indexWriteUnits) / p.usage.tally.writeUnits)}%)`).join(' | ')} |`,
    `| DynamoDB read units | ${columns.map(([, p]) => fixed(p.usage.tally.readUnits / p.jobs)).join(' | ')} |`,
    `| SQS requests billed (per 64 KiB) | ${columns.map(([, p]) => fixed(p.usage.tally.sqsBilled / p.jobs)).join(' | ')} |`,
    `| API requests | ${columns.map(([, p]) => fixed(p.usage.apiRequests / p.jobs)).join(' | ')} |`,
    `| Lambda invocations (API, worker, stream counter) | ${columns.map(([, p]) => `${fixed(p.usage.invocations.api / p.jobs)}, ${fixed(p.usage.invocations.worker / p.jobs)}, ${fixed(p.usage.invocations.counter / p.jobs, 3)}`).join(' | ')} |`,
    `| log bytes written by the handlers | ${columns.map(([, p]) => fixed(p.usage.logBytes / p.jobs, 0)).join(' | ')} |`,
    '',
    '## The hottest partition key',
    '',
    `Write units by partition key value (table \`pk\`, and each index its partition key) as the run wrote them, per job, ${batch} a batch;`,
    'a partition takes about 1,000 write units a second, so the hottest key caps the jobs a second whatever the Lambda',
    'concurrency. Sharded keys are taken as their family (`*` for the shard): index entries go to the shard of a hash',
    'of the job id, counter flushes to a shard at random, so at load each shard takes its family\'s units over the',
    `shards. The index shards are REQUEUE_INDEX_SHARDS (${shards.index} in this run); the counter shards are COUNTER_SHARDS, a`,
    `constant of lambda/adapters/dynamodb-job-counters.ts (${shards.counters}): "twice the shards" recomputes the same logged keys with`,
    'both doubled, as a table and counters set up so would take them (more counter shards is a one-line change there,',
    'safe on a table with counts, since reads sum shards 0..N-1 and new shards start at nothing).',
    '',
    '| jobs | hottest key families | shards (touched in this run) | write units per job, family / one shard | ceiling | with twice the shards |',
    '|---|---|---|---|---|---|',
    ...(['succeeded', 'failing'] as const).map(
      (k) =>
        `| ${k === 'succeeded' ? 'successful' : 'failing 3 attempts'} | ${hot[k].keys.map((key) => `\`${key}\``).join(', ')} | ${hot[k].shards} (${hot[k].shardsSeen}) | ${fixed(hot[k].unitsPerJob)} / ${fixed(hot[k].unitsPerJobPerShard, 4)} | ${rate(hot[k].jobsPerSecond)} | ${rate(hot2[k].jobsPerSecond)} |`,
    ),
    '',
    '## Scheduled work, as the table grows',
    '',
    'One pass of the reconcile handler, the only scheduled work (the recount runs on demand, POST /jobs/recount; TTL',
    'deletes are counted by the stream handler as they happen), run against the same table after the workload with',
    'more completed jobs seeded straight into it; an hour is 60 passes. The first pass, right after the workload, also',
    'sweeps the dead-letter queue, as the counters say the retry-all may have left stale copies there: up to 100',
    'messages, a Query for the job of each, then the sweep is marked done and no later pass sweeps until the next',
    'retry. So the growth is taken between the last two passes. Read units an hour grow by',
    `${fixed(growth * 1000, 1)} per 1,000 retained jobs; extrapolated linearly from those two sizes, at 1,000,000 retained jobs the schedule`,
    `reads **${Math.round(atMillion).toLocaleString('en-US')} read units an hour** (${money((atMillion * 24 * 30 * PRICES.dynamoDbReadPerMillionUnits) / 1e6)} a month).`,
    '',
    ...table([['retained jobs', 'read units a pass', 'read units an hour, were every pass so', 'requests an hour'], ...scheduledRows]),
    '',
    'A pass reads what the jobs still to run, the open tasks and the counters hold, never the retained jobs: the',
    "byState Queries of the pending shards, the open tasks and recounts, and two BatchGetItems of the counters' items.",
    "(dynalite counts an empty Query as 0 read units; if AWS bills each a minimum, the pass's Queries add a constant,",
    'not a growth.)',
    "Idle, AWS's own pollers of the event source mapping also poll both queues (at least 5 a queue, each a 20 s long",
    `poll: about 900 ReceiveMessage an hour a queue, modelled, ${money((2 * 900 * PRICES.sqsPerMillionRequests * 24 * 30) / 1e6)} a month); the local pollers'`,
    `${phases.reduce((n, p) => n + p.idleReceives, 0)} empty receives in this run are left out of the figures above.`,
    '',
    '## Prices and assumptions',
    '',
    `us-east-1, on-demand, list prices as of ${PRICES.asOf} (\`PRICES\` in bench/cost-model.ts):`,
    '',
    ...table([
      ['item', 'US$'],
      ['DynamoDB, per million write request units', String(PRICES.dynamoDbWritePerMillionUnits)],
      ['DynamoDB, per million read request units', String(PRICES.dynamoDbReadPerMillionUnits)],
      ['SQS standard, per million requests (each 64 KiB of payload is one)', String(PRICES.sqsPerMillionRequests)],
      ['API Gateway HTTP API, per million requests', String(PRICES.httpApiPerMillionRequests)],
      ['Lambda, per million requests', String(PRICES.lambdaPerMillionRequests)],
      ['Lambda arm64, per GB-second', String(PRICES.lambdaPerGbSecond)],
      ['CloudWatch Logs, ingestion per GB', String(PRICES.logsIngestionPerGb)],
    ]),
    '',
    'DynamoDB on-demand from the price cut of November 2024 ($0.625 / $0.125, as third-party summaries of the AWS',
    'pricing page give them); the SQS, API Gateway, Lambda and CloudWatch Logs figures are the well-known list prices,',
    'from memory, not looked up. Free tiers are left out.',
    '',
    '- Write units: 1 per KB (rounded up) of the larger of the item before and after; each index entry put, changed or',
    '  deleted costs its own units from its projected size; a changed index key is a delete plus a put; a write',
    '  refused by its condition costs its table units. Items before and after are read from dynalite beside each write',
    '  (uncounted). GetItem and Query read units as dynalite counts them: per 4 KB of the items read, filtered ones',
    '  included, half for eventually consistent reads. BatchGetItem (which dynalite does not count) as AWS bills it:',
    '  each key as a GetItem of its whole item whatever the projection, rounded up to 4 KB, a missing item as one,',
    '  half for eventually consistent reads; the items are read from dynalite beside it (uncounted).',
    `- Lambda durations are modelled, not timed: ${LAMBDA.billedMs.api} ms an API invocation, ${LAMBDA.billedMs.worker} ms a worker batch,`,
    `  at ${LAMBDA.memoryGb * 1024} MB (every function's memory in infra/), arm64.`,
    `- Logs: the bytes the runtime wrote while the phase ran (the handlers' log lines, at the default level), plus`,
    `  ${LAMBDA.platformLogBytes} bytes of Lambda's own START/END/REPORT records per invocation: the functions log JSON with the`,
    '  system log level at WARN (infra/requeue-function.ts), which leaves those INFO records out; at',
    '  `-c lambdaSystemLogLevel=INFO` they are about 300 bytes an invocation, some $0.15 per million successful jobs.',
    '- Left out of the per-job figures: the pollers\' empty receives and the scheduled reconciler (below).',
    '',
  ];
  return { markdown: lines.join('\n'), verdicts };
};

const KNOBS = {
  succeeded: { env: 'COST_SUCCEEDED', fallback: 100, help: 'demo.echo jobs, completing at their first attempt' },
  failing: { env: 'COST_FAILING', fallback: 100, help: 'demo.fail jobs of 3 attempts, then one retry-all of them' },
  out: { env: 'COST_OUT', fallback: 'docs/COST.md', help: "the page's path" },
};

// test/bench/cost.test.ts imports runCostWorkload: the bench runs only when this module is the entry point
if (require.main === module) {
  runBench('bench:cost', KNOBS, async ({ succeeded, failing, out }, command) => {
    const workload: CostWorkload = { succeeded, failing };
    const { phases, scheduled } = await runCostWorkload(workload, [0, 1_000, 1_000]);
    // a setting of the runtime (it inherits this environment), not of the bench
    const shards: Shards = { ...DEFAULT_SHARDS, index: Number(process.env.REQUEUE_INDEX_SHARDS ?? DEFAULT_SHARDS.index) };
    const { markdown } = costReport(workload, phases, scheduled, command, shards);
    writeReport(path.resolve(ROOT, out), markdown);
    process.stdout.write(`${markdown}\nWrote ${out}\n`);
  });
}
