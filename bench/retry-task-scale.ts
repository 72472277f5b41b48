/**
 * `npm run bench:task`: issue 5's "a 100,000-job retry task shows progress,
 * honours `maxPerSecond`, can be cancelled (jobs already retried stay
 * retried, the rest stay failed), and a kill -9 of the local runtime mid-task
 * does not lose or double it", measured at full size against the local
 * runtime (`npm start`, worker on):
 *
 *  1. seed `--jobs` failed demo.echo jobs (bench/seed.ts); start a retry-all
 *     task at `--max-per-second`; read its progress every second
 *  2. at ~40% retried, SIGKILL the runtime's process group; start it again on
 *     the same data; keep reading until COMPLETED
 *  3. Scan the table: every seeded job retried exactly once (generation 1),
 *     none left failed; once all have run, none ran an attempt twice
 *  4. the retry rate over every 10-second window of the progress series (the
 *     restart left out) and over the whole task, against `maxPerSecond`
 *  5. seed `--cancel-jobs` failed jobs of another name; a task for that name
 *     at `--cancel-max-per-second`, cancelled at ~30%: the jobs retried are
 *     the task's `retried`, the rest stay failed, through a reconciler pass
 *
 * and writes docs/RETRY-TASK-AT-SCALE.md; exits 1 when a check fails.
 * Sizes: `npm run bench:task -- --help`.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbJobStore } from '../lambda/adapters/dynamodb-job-store';
import { JOB_TABLE } from '../lambda/adapters/table-schema';
import { ROOT } from '../local/launcher';
import {
  removeDataDir,
  signalGroup,
  startLocalRuntime,
  tempDataDir,
  type HttpAnswer,
  type LocalRuntime,
} from '../local/launcher';
import { describeMachine, type Machine } from './report';
import { failedJob, SEEDED_JOB_NAME, seedJobs, type SeedTarget } from './seed';
import { freePorts } from './load';
import { parseFlags } from './options';

// ---------------------------------------------------------------- options

interface Options {
  readonly jobs: number;
  readonly maxPerSecond: number;
  readonly cancelJobs: number;
  readonly cancelMaxPerSecond: number;
  /** Share of the task retried when the runtime is killed / the second task cancelled. */
  readonly killAt: number;
  readonly cancelAt: number;
  readonly concurrency: number;
  readonly out: string;
}

interface Knob {
  readonly flag: string;
  readonly env: string;
  readonly fallback: number;
  readonly min: number;
  readonly max: number;
  readonly integer: boolean;
  readonly help: string;
}

const KNOBS = {
  jobs: { flag: 'jobs', env: 'TASK_JOBS', fallback: 100_000, min: 1, max: 10_000_000, integer: true, help: 'failed jobs for the retry task killed mid-way' },
  maxPerSecond: { flag: 'max-per-second', env: 'TASK_MAX_PER_SECOND', fallback: 500, min: 1, max: 10_000, integer: true, help: "that task's maxPerSecond" },
  cancelJobs: { flag: 'cancel-jobs', env: 'TASK_CANCEL_JOBS', fallback: 20_000, min: 1, max: 10_000_000, integer: true, help: 'failed jobs for the task that is cancelled' },
  cancelMaxPerSecond: { flag: 'cancel-max-per-second', env: 'TASK_CANCEL_MAX_PER_SECOND', fallback: 100, min: 1, max: 10_000, integer: true, help: "the cancelled task's maxPerSecond" },
  killAt: { flag: 'kill-at', env: 'TASK_KILL_AT', fallback: 0.4, min: 0.01, max: 0.99, integer: false, help: 'share retried when the runtime is killed' },
  cancelAt: { flag: 'cancel-at', env: 'TASK_CANCEL_AT', fallback: 0.3, min: 0.01, max: 0.99, integer: false, help: 'share retried when the task is cancelled' },
  concurrency: { flag: 'concurrency', env: 'TASK_CONCURRENCY', fallback: 16, min: 1, max: 256, integer: true, help: 'seeding requests in flight' },
} satisfies Record<string, Knob>;

const DEFAULT_OUT = path.join('docs', 'RETRY-TASK-AT-SCALE.md');
/** Whatever follows this line in an existing report (notes written by hand) is kept as it is. */
const KEEP_BELOW = '<!-- written by hand below this line; npm run bench:task keeps it -->';

class OptionsError extends Error {
  override readonly name = 'OptionsError';
}

const usage = (): string =>
  [
    'npm run bench:task [-- --flag=value ...]   (each flag also as an environment variable)',
    ...Object.values(KNOBS).map((k) => `  --${k.flag.padEnd(22)} ${k.env.padEnd(27)} ${k.help} (default ${k.fallback})`),
    `  --${'out'.padEnd(22)} ${'TASK_OUT'.padEnd(27)} the report's path (default ${DEFAULT_OUT})`,
  ].join('\n');

const refuse = (problem: string) => new OptionsError(`${problem}\n${usage()}`);

const readOptions = (argv: readonly string[], env: NodeJS.ProcessEnv): Options => {
  const flags = parseFlags(argv, refuse);
  const known = new Set([...Object.values(KNOBS).map((k) => k.flag), 'out']);
  for (const flag of flags.keys()) if (!known.has(flag)) throw new OptionsError(`Unknown flag --${flag}.\n${usage()}`);
  const number = (knob: Knob): number => {
    const raw = flags.get(knob.flag) ?? env[knob.env];
    if (raw === undefined || raw === '') return knob.fallback;
    const value = Number(raw.replace(/_/g, ''));
    if (!Number.isFinite(value) || (knob.integer && !Number.isInteger(value)) || value < knob.min || value > knob.max) {
      throw new OptionsError(`--${knob.flag} (${knob.env}) must be ${knob.integer ? 'a whole number' : 'a number'} from ${knob.min} to ${knob.max}; got '${raw}'.`);
    }
    return value;
  };
  const values = Object.fromEntries(Object.entries(KNOBS).map(([key, knob]) => [key, number(knob)])) as Record<keyof typeof KNOBS, number>;
  return { ...values, out: path.resolve(ROOT, flags.get('out') ?? env.TASK_OUT ?? DEFAULT_OUT) };
};

const commandLine = (argv: readonly string[], env: NodeJS.ProcessEnv): string => {
  const flags = parseFlags(argv, refuse);
  const fromEnv = [...Object.values(KNOBS), { flag: 'out', env: 'TASK_OUT' }]
    .filter((k) => !flags.has(k.flag) && env[k.env])
    .map((k) => `${k.env}=${env[k.env]}`);
  const worker = env.REQUEUE_WORKER_CONCURRENCY ? [`REQUEUE_WORKER_CONCURRENCY=${env.REQUEUE_WORKER_CONCURRENCY}`] : [];
  return [...worker, ...fromEnv, 'npm run bench:task', ...(argv.length > 0 ? ['--', ...argv] : [])].join(' ');
};

// ---------------------------------------------------------------- the runtime

/** As local/main.ts provisions them. */
const TABLE_NAME = 'requeue-jobs';
const QUEUE_NAME = 'requeue-jobs';
const DEAD_LETTER_QUEUE_NAME = 'requeue-jobs-dlq';
const RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
/** The task runner's page (lambda/core/run-retry-task.ts). */
const TASK_PAGE = 100;
/**
 * A restart after a kill -9 re-sends every unfinished job before it serves its
 * port (local/main.ts): with tens of thousands retried and not yet run, that
 * takes far longer than a clean start. test/support's helper gives up after
 * 15 s, so this script starts the runtime itself and times the start instead.
 */
const START_BUDGET_MS = 15 * 60_000;

const log = (message: string) => process.stderr.write(`[task ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

/** One `npm start` (test/support/local-runtime.ts), with SDK clients on its emulators. */
class Runtime {
  readonly doc: DynamoDBDocumentClient;
  readonly store: DynamoDbJobStore;
  readonly sqs: SQSClient;
  queueUrl: string | undefined;
  private constructor(
    private readonly local: LocalRuntime,
    ports: { dynamoDb: number; sqs: number },
  ) {
    const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
    const client = new DynamoDBClient({ region: 'us-east-1', endpoint: `http://127.0.0.1:${ports.dynamoDb}`, credentials });
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    this.store = new DynamoDbJobStore({ tableName: TABLE_NAME, retentionMs: RETENTION_MS, client });
    this.sqs = new SQSClient({ region: 'us-east-1', endpoint: `http://127.0.0.1:${ports.sqs}`, credentials, useQueueUrlAsEndpoint: false });
  }

  /** The runtime running now, for the exit guard. */
  static current: Runtime | undefined;
  /** A group being started, not yet ready. */
  static pending: number | undefined;

  static async start(dataDir: string): Promise<Runtime> {
    const [dynamoDb, sqs] = await freePorts();
    const local = await startLocalRuntime({
      dataDir,
      env: { SQS_PORT: String(sqs), DYNAMODB_PORT: String(dynamoDb), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      startupBudgetMs: START_BUDGET_MS,
      onSpawn: (pgid) => (Runtime.pending = pgid),
    });
    const runtime = new Runtime(local, { dynamoDb, sqs });
    Runtime.current = runtime;
    Runtime.pending = undefined;
    return runtime;
  }

  get pgid(): number {
    return this.local.pgid;
  }

  get url(): string {
    return this.local.url;
  }

  get startupMs(): number {
    return this.local.startupMs;
  }

  output = (): string => this.local.output();

  request(method: string, route: string, body?: unknown): Promise<HttpAnswer> {
    return this.local.request(method, route, body);
  }

  async call(method: string, route: string, expected: number, body?: unknown): Promise<any> {
    const answer = await this.request(method, route, body);
    if (answer.status !== expected) {
      throw new Error(`${method} ${route} answered ${answer.status} (expected ${expected}): ${answer.text.slice(0, 500)}`);
    }
    return answer.body;
  }

  /** SIGKILL to the whole group (npm and the runtime): a crash, nothing written on the way out. */
  async kill(): Promise<void> {
    await this.local.kill();
    if (Runtime.current === this) Runtime.current = undefined;
  }

  /** Ctrl-C to the group; waits until every process of it has exited (a minute at most, then SIGKILL). */
  async interrupt(): Promise<void> {
    await this.local.interrupt(60_000).catch(() => this.local.kill());
    if (Runtime.current === this) Runtime.current = undefined;
  }
}

/** Never leave a runtime behind: a signal or the exit of this process kills the group it started. */
const guardRuntimes = () => {
  const killNow = () => {
    for (const pgid of [Runtime.current?.pgid, Runtime.pending]) if (pgid !== undefined) signalGroup(pgid, 'SIGKILL');
  };
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`bench:task: ${signal}; stopping the runtime\n`);
    killNow();
    process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGHUP' ? 1 : 15));
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
  process.on('exit', killNow);
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
};

// ---------------------------------------------------------------- table reads

interface JobRow {
  readonly state: string;
  readonly generation: number;
  readonly attempts: number;
  /** When it entered its index group, from the byState sort key it carries (time negated from 10^15 - 1). */
  readonly since: number;
  /** `generation/attempt` of each execution. */
  readonly runs: readonly string[];
}

/** Every job item of the table, paginated Scan from this process. */
const scanJobs = async (runtime: Runtime): Promise<{ rows: Map<string, JobRow>; ms: number; tasks: number }> => {
  const began = Date.now();
  const rows = new Map<string, JobRow>();
  let tasks = 0;
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await runtime.doc.send(
      new ScanCommand({
        TableName: TABLE_NAME,
        ProjectionExpression: 'pk, id, #state, generation, attempts, gsi1sk, history',
        ExpressionAttributeNames: { '#state': 'state' },
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) {
      const pk = String(item.pk);
      if (pk.startsWith('TASK#')) tasks++;
      if (!pk.startsWith('JOB#')) continue;
      const history = (item.history ?? []) as { generation: number; attempt: number }[];
      rows.set(String(item.id), {
        state: String(item.state),
        generation: Number(item.generation),
        attempts: Number(item.attempts),
        since: 999_999_999_999_999 - Number(String(item.gsi1sk).slice(0, 15)),
        runs: history.map((e) => `${e.generation}/${e.attempt}`),
      });
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return { rows, ms: Date.now() - began, tasks };
};

const PENDING_STATES = ['waiting', 'active', 'delayed'] as const;

/**
 * Is any job still to run? Read from the byState index, each entry checked
 * against the job itself: an entry the index kept after its job moved on
 * (seen at 100,000 jobs) must not hold the wait up for ever. Cheap: while
 * jobs are pending the first entry says so; once none are, only stale
 * entries are left to check.
 */
const pendingState = async (runtime: Runtime): Promise<{ pending: boolean; staleEntries: number }> => {
  let staleEntries = 0;
  for (const state of PENDING_STATES) {
    let cursor: string | undefined;
    do {
      const page = await runtime.store.listByState(state, 50, cursor);
      for (const entry of page.items) {
        const job = await runtime.store.get(entry.id);
        if (job && (PENDING_STATES as readonly string[]).includes(job.state)) return { pending: true, staleEntries };
        staleEntries++;
      }
      cursor = page.cursor;
    } while (cursor);
  }
  return { pending: false, staleEntries };
};

interface IndexCensus {
  /** Entries per partition of the byState index. */
  readonly entries: Record<string, number>;
  /** Entries whose job is in another state (or gone). */
  readonly stale: number;
  /** Jobs with no entry under their own state. */
  readonly missing: number;
  readonly examples: string[];
}

/** The byState index against the items of a Scan taken just before, on a table at rest. */
const indexCensus = async (runtime: Runtime, rows: Map<string, JobRow>): Promise<IndexCensus> => {
  const entries: Record<string, number> = {};
  const listed = new Set<string>();
  let stale = 0;
  const examples: string[] = [];
  // entries are `STATE#<group>#<shard>`: waiting, active and delayed share the pending group
  const groupOf = (state: string | undefined) => (state === 'failed' || state === 'completed' ? state : 'pending');
  for (const group of ['pending', 'failed', 'completed']) {
    for (let shard = 0; shard < JOB_TABLE.indexShards; shard++) {
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await runtime.doc.send(
          new QueryCommand({
            TableName: TABLE_NAME,
            IndexName: 'byState',
            KeyConditionExpression: 'gsi1pk = :p',
            ExpressionAttributeValues: { ':p': `STATE#${group}#${shard}` },
            ProjectionExpression: 'pk, gsi1sk',
            ExclusiveStartKey: startKey,
          }),
        );
        for (const item of page.Items ?? []) {
          const id = String(item.pk).slice('JOB#'.length);
          entries[group] = (entries[group] ?? 0) + 1;
          const row = rows.get(id);
          if (row && groupOf(row.state) === group) {
            listed.add(id);
          } else {
            stale++;
            if (examples.length < 5) examples.push(`${id} listed ${group} (${String(item.gsi1sk)}), the job is ${row?.state ?? 'gone'}`);
          }
        }
        startKey = page.LastEvaluatedKey;
      } while (startKey);
    }
  }
  let missing = 0;
  for (const [id, row] of rows) {
    if (listed.has(id)) continue;
    missing++;
    if (examples.length < 10) examples.push(`${id} is ${row.state} since ${new Date(row.since).toISOString()} (attempts ${row.attempts}, runs ${row.runs.join(' ') || 'none'}) with no entry under its state`);
  }
  return { entries, stale, missing, examples };
};

/** Messages in the main queue: visible, in flight and delayed. */
const queueDepth = async (runtime: Runtime): Promise<number> => {
  runtime.queueUrl ??= (await runtime.sqs.send(new GetQueueUrlCommand({ QueueName: QUEUE_NAME }))).QueueUrl!;
  const { Attributes = {} } = await runtime.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: runtime.queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
    }),
  );
  return (
    Number(Attributes.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0) +
    Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0)
  );
};

const recount = async (runtime: Runtime): Promise<Record<string, number>> => {
  for (let attempt = 1; ; attempt++) {
    const counts = await runtime.store.recount();
    if (counts) return counts;
    if (attempt === 20) throw new Error('the jobs kept moving: 20 recounts in a row declined');
    await sleep(500);
  }
};

interface Census {
  /** Seeded jobs by generation (`missing` when not in the table). */
  readonly byGeneration: Record<string, number>;
  readonly byState: Record<string, number>;
  /** Jobs with two executions of the same generation and attempt. */
  readonly duplicateRuns: number;
  /** Jobs that ran more than once in generation 1 (a second attempt, e.g. after the kill). */
  readonly retriedRunsOverOne: number;
  readonly examples: string[];
}

const census = (rows: Map<string, JobRow>, ids: readonly string[]): Census => {
  const byGeneration: Record<string, number> = {};
  const byState: Record<string, number> = {};
  let duplicateRuns = 0;
  let retriedRunsOverOne = 0;
  const examples: string[] = [];
  for (const id of ids) {
    const row = rows.get(id);
    const generation = row ? String(row.generation) : 'missing';
    const state = row ? row.state : 'missing';
    byGeneration[generation] = (byGeneration[generation] ?? 0) + 1;
    byState[state] = (byState[state] ?? 0) + 1;
    if (!row) continue;
    if (new Set(row.runs).size !== row.runs.length) {
      duplicateRuns++;
      if (examples.length < 5) examples.push(`${id}: runs ${row.runs.join(', ')}`);
    }
    if (row.runs.filter((r) => r.startsWith('1/')).length > 1) retriedRunsOverOne++;
  }
  return { byGeneration, byState, duplicateRuns, retriedRunsOverOne, examples };
};

// ---------------------------------------------------------------- progress and rates

interface Sample {
  /** Epoch ms (the runtime stamps the task with the same clock). */
  readonly at: number;
  readonly status: string;
  readonly retried: number;
  readonly failed: number;
  readonly total: number;
  /** Which start of the runtime answered. */
  readonly run: number;
  /** Messages in the main queue then (visible, in flight, delayed). */
  readonly queue?: number;
}

interface WindowRate {
  readonly from: number;
  readonly seconds: number;
  readonly perSecond: number;
}

/** The rate between each sample and the first one at least `windowMs` later, within one stretch of samples. */
const windowRates = (samples: readonly Sample[], windowMs = 10_000): WindowRate[] => {
  const rates: WindowRate[] = [];
  let j = 0;
  for (let i = 0; i < samples.length; i++) {
    j = Math.max(j, i + 1);
    while (j < samples.length && samples[j]!.at - samples[i]!.at < windowMs) j++;
    if (j >= samples.length) break;
    const seconds = (samples[j]!.at - samples[i]!.at) / 1000;
    rates.push({ from: samples[i]!.at, seconds, perSecond: (samples[j]!.retried - samples[i]!.retried) / seconds });
  }
  return rates;
};

/**
 * The 10-s windows of each stretch of readings; when no stretch lasts 10 s (a
 * small run), each whole stretch as one window instead.
 */
const windowsOf = (stretches: readonly (readonly Sample[])[]): { rates: WindowRate[]; whole: boolean } => {
  const rates = stretches.flatMap((s) => windowRates(s));
  if (rates.length > 0) return { rates, whole: false };
  const whole = stretches.filter((s) => s.length > 1).flatMap((s) => windowRates(s, Math.max(1, s.at(-1)!.at - s[0]!.at)));
  return { rates: whole, whole: true };
};

const maxWindow = (rates: readonly WindowRate[]): WindowRate | undefined =>
  rates.reduce<WindowRate | undefined>((best, r) => (best === undefined || r.perSecond > best.perSecond ? r : best), undefined);

/** Whether the readings only go up, and the longest time the count stood still within one run of the runtime. */
const progressShown = (samples: readonly Sample[]) => {
  let monotonic = true;
  let moved = 0;
  let longestStallMs = 0;
  let since = samples[0]!;
  for (let i = 1; i < samples.length; i++) {
    const [before, s] = [samples[i - 1]!, samples[i]!];
    if (s.retried < before.retried) monotonic = false;
    if (s.retried > before.retried) moved++;
    if (s.run !== before.run) {
      since = s; // the restart is not a stall of the task
      continue;
    }
    if (s.retried !== since.retried || s.status !== 'RUNNING') since = s;
    else longestStallMs = Math.max(longestStallMs, s.at - since.at);
  }
  return { monotonic, moved, longestStallMs, readings: samples.length };
};

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
const fmt = (n: number) => n.toLocaleString('en-US');
const secs = (ms: number) => `${round(ms / 1000)} s`;

/** GET the task every second, logging and keeping each reading, until `stop` says so. */
const follow = async (
  runtime: Runtime,
  run: number,
  taskId: string,
  startedAt: number,
  samples: Sample[],
  stop: (s: Sample) => boolean,
  timeoutMs: number,
): Promise<Sample> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const before = Date.now();
    const task = await runtime.call('GET', `/jobs/retry-tasks/${taskId}`, 200);
    const at = Math.round((before + Date.now()) / 2);
    const sample: Sample = {
      at,
      status: task.status,
      retried: task.retried,
      failed: task.failed,
      total: task.total,
      run,
      queue: await queueDepth(runtime).catch(() => undefined),
    };
    samples.push(sample);
    const tenAgo = [...samples].reverse().find((s) => s.run === run && sample.at - s.at >= 10_000);
    const recent = tenAgo ? ` (${Math.round((sample.retried - tenAgo.retried) / ((sample.at - tenAgo.at) / 1000))}/s over the last ${round((sample.at - tenAgo.at) / 1000)} s)` : '';
    log(`+${round((sample.at - startedAt) / 1000)} s  ${sample.status}  ${fmt(sample.retried)}/${fmt(sample.total)} retried, ${sample.failed} not${recent}; ${sample.queue === undefined ? '?' : fmt(sample.queue)} message(s) queued`);
    if (stop(sample)) return sample;
    if (Date.now() > deadline) throw new Error(`task ${taskId} still ${sample.status} after ${Math.round(timeoutMs / 1000)} s`);
    await sleep(Math.max(0, 1000 - (Date.now() - before)));
  }
};

/** What a wait for the jobs to run saw, every 5 s. */
interface DrainPoint {
  readonly at: number;
  /** Waiting jobs, by the job counters (GET /jobs/metrics). */
  readonly waiting: number;
  readonly queue: number;
}

/** Until no job is left to run (index entries checked against their jobs); logs every 30 s. */
const waitForJobsToRun = async (runtime: Runtime, what: string, timeoutMs: number, series: DrainPoint[]) => {
  const began = Date.now();
  let lastLog = began;
  for (;;) {
    const state = await pendingState(runtime);
    const metrics = (await runtime.request('GET', '/jobs/metrics')).body ?? {};
    const point = { at: Date.now(), waiting: Number(metrics.waiting ?? NaN), queue: await queueDepth(runtime) };
    series.push(point);
    if (!state.pending) return { ms: Date.now() - began, staleEntries: state.staleEntries };
    if (Date.now() - lastLog >= 30_000) {
      log(`${what}: ${fmt(point.waiting)} waiting (counters), ${fmt(point.queue)} message(s) queued`);
      lastLog = Date.now();
    }
    if (Date.now() - began > timeoutMs) throw new Error(`waited ${Math.round(timeoutMs / 1000)} s for ${what}; ${JSON.stringify(point)}`);
    await sleep(5000);
  }
};

/** What one start of the runtime logged, kept in a file; its warnings counted. */
interface RuntimeLog {
  readonly path: string;
  readonly lines: number;
  readonly errors: number;
  /** The reconciler's "Re-sent jobs left without a message" warnings, and the jobs they re-sent. */
  readonly resendWarnings: number;
  readonly resent: number;
  readonly resumedTasks: number;
}

const keepRuntimeLog = (runtime: Runtime, run: number): RuntimeLog => {
  const text = runtime.output();
  const file = path.join(tmpdir(), `retry-task-scale-${process.pid}-run${run}.log`);
  writeFileSync(file, text);
  let errors = 0;
  let resendWarnings = 0;
  let resent = 0;
  let resumedTasks = 0;
  const lines = text.split('\n');
  for (const line of lines) {
    if (!line.startsWith('{')) {
      if (/error/i.test(line)) errors++;
      continue;
    }
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line);
    } catch {
      continue;
    }
    if (entry.level === 'ERROR') errors++;
    if (entry.message === 'Re-sent jobs left without a message') {
      resendWarnings++;
      resent += Number(entry.waiting ?? 0) + Number(entry.active ?? 0) + Number(entry.delayed ?? 0);
    }
    if (entry.message === 'Resumed retry tasks whose runner stopped') resumedTasks += Number(entry.tasks ?? 0);
  }
  log(`runtime ${run}'s output: ${file}`);
  return { path: file, lines: lines.length, errors, resendWarnings, resent, resumedTasks };
};

// ---------------------------------------------------------------- the run

interface Check {
  readonly name: string;
  readonly pass: boolean;
  readonly measured: string;
}

interface CodeState {
  readonly commit: string;
  /** Files under lambda/ and local/ that differ from the commit (the runtime bundles the working tree). */
  readonly uncommitted: readonly string[];
  /** A digest of that difference, to tell whether the code changed between two starts. */
  readonly digest: string;
}

const codeState = (): CodeState => {
  // not trimmed: a porcelain line starts with its status columns, a space among them
  const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  try {
    const uncommitted = git('status', '--porcelain', '--', 'lambda', 'local')
      .split('\n')
      .filter(Boolean)
      .map((line) => line.slice(3));
    const diff = git('diff', 'HEAD', '--', 'lambda', 'local');
    return { commit: git('rev-parse', 'HEAD').trim(), uncommitted, digest: createHash('sha256').update(diff).digest('hex').slice(0, 12) };
  } catch {
    return { commit: 'unknown (not a git checkout)', uncommitted: [], digest: '-' };
  }
};

/** Everything the report shows; filled in as the run goes, so a failure still reports what it got to. */
interface Results {
  command: string;
  date: string;
  machine: Machine & { loadAtEnd?: number; load5AtStart: number };
  code: CodeState[];
  options: Options;
  durationS?: number;
  error?: string;
  checks: Check[];
  kill?: {
    startupMs: number;
    seedMs: number;
    total: number;
    taskId: string;
    startedAt: number;
    /** The reading that crossed the kill point. */
    atKill: Sample;
    metricsAtKill?: Record<string, unknown>;
    killedAt: number;
    restartMs: number;
    readyAt: number;
    resentAtStart?: string;
    /** What the restarted runtime printed before its ready line. */
    beforeReady?: string[];
    /** The first reading after the restart: the saved checkpoint. */
    firstAfter?: Sample;
    /** The first reading that moved past the checkpoint. */
    resumedAt?: number;
    final?: Sample & { finishedAt: number };
    samples: Sample[];
    meanFirstRun?: number;
    meanSecondRun?: number;
    meanWhole?: number;
    meanWholeWithGap?: number;
    maxWindow?: WindowRate;
    windows?: number;
    wholeStretches?: boolean;
    longestStallMs?: number;
    censusAtCompleted?: Census & { scanMs: number; tasks: number };
    allRunMs?: number;
    drain?: DrainPoint[];
    censusAtEnd?: Census & { scanMs: number };
    indexAtEnd?: IndexCensus;
    /** Waiting for the main queue to empty before the next task: how long, from what. */
    queueDrain?: { ms: number; from: number; to: number; timedOut: boolean };
  };
  logs: RuntimeLog[];
  /** A failed run's data folder, kept. */
  keptDataDir?: string;
  cancel?: {
    seedMs: number;
    total: number;
    taskId: string;
    startedAt: number;
    atCancel: Sample;
    cancelAnswer: string;
    cancelledAt?: Sample & { finishedAt: number };
    cancelToCancelledMs?: number;
    samples: Sample[];
    mean?: number;
    maxWindow?: WindowRate;
    windows?: number;
    wholeStretches?: boolean;
    atCancelled?: Census & { scanMs: number };
    later?: Census & { scanMs: number; afterMs: number };
    indexAtEnd?: IndexCensus;
    /** Messages in the dead-letter queue at the end, and how many of them belong to jobs still failed. */
    deadLetters?: { depth: number; stillFailed: number };
  };
}

const check = (results: Results, name: string, pass: boolean, measured: string) => {
  results.checks.push({ name, pass, measured });
  log(`${pass ? 'PASS' : 'FAIL'}  ${name}: ${measured}`);
};

/** A window may hold the limit plus a page at each edge: the runner retries a page at once, then waits for it (and a chunk starts with a page). */
const windowAllowance = (maxPerSecond: number, seconds: number) => maxPerSecond + (2 * Math.min(TASK_PAGE, maxPerSecond)) / seconds;

const seedTarget = async (runtime: Runtime, concurrency: number): Promise<SeedTarget> => {
  const { QueueUrl } = await runtime.sqs.send(new GetQueueUrlCommand({ QueueName: DEAD_LETTER_QUEUE_NAME }));
  return { doc: runtime.doc, tableName: TABLE_NAME, sqs: runtime.sqs, deadLetterQueueUrl: QueueUrl!, concurrency };
};

const deadLetterDepth = async (runtime: Runtime): Promise<number> => {
  const { QueueUrl } = await runtime.sqs.send(new GetQueueUrlCommand({ QueueName: DEAD_LETTER_QUEUE_NAME }));
  const { Attributes = {} } = await runtime.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(Attributes.ApproximateNumberOfMessages ?? 0) + Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0);
};

/** The jobs of the cancelled task: another name (with a processor, so the retried ones complete), filtered on. */
const CANCEL_JOB_NAME = 'demo.sleep';

const budget = (jobs: number, perSecond: number) => Math.max(300_000, Math.ceil((jobs / Math.min(perSecond, 20)) * 1000));

/** Steps 1-4: the task killed mid-way, resumed, verified. Returns the runtime it ends with. */
const killedTask = async (options: Options, results: Results, dataDir: string, first: Runtime): Promise<Runtime> => {
  const { jobs, maxPerSecond } = options;
  log(`seeding ${fmt(jobs)} failed ${SEEDED_JOB_NAME} jobs`);
  const seedBegan = Date.now();
  const base = Date.now() - jobs - 60_000;
  const seeded = await seedJobs(await seedTarget(first, options.concurrency), jobs, (i) => failedJob(i, base + i));
  const ids = seeded.map((job) => job.id);
  await recount(first); // seeding wrote past the counters; retry-all's total comes from them
  const seedMs = Date.now() - seedBegan;
  log(`seeded in ${secs(seedMs)}`);

  const answer = await first.call('POST', '/jobs/retry-all-failed', 202, { async: true, maxPerSecond });
  const taskId = answer.taskId as string;
  const begun = await first.call('GET', `/jobs/retry-tasks/${taskId}`, 200);
  const startedAt = begun.startedAt as number;
  log(`task ${taskId}: ${fmt(answer.total)} jobs at maxPerSecond ${maxPerSecond}; killing the runtime at ${Math.round(options.killAt * 100)}%`);
  const samples: Sample[] = [{ at: startedAt, status: 'RUNNING', retried: 0, failed: 0, total: answer.total, run: 1 }];
  const killAt = Math.ceil(options.killAt * jobs);
  const atKill = await follow(first, 1, taskId, startedAt, samples, (s) => s.retried >= killAt || s.status !== 'RUNNING', budget(jobs, maxPerSecond));
  if (atKill.status !== 'RUNNING') throw new Error(`the task ended ${atKill.status} before the kill point: ${JSON.stringify(atKill)}`);
  const metricsAtKill = (await first.request('GET', '/jobs/metrics')).body;
  log(`kill -9 of the runtime (group ${first.pgid}) at ${fmt(atKill.retried)} retried`);
  await first.kill();
  const killedAt = Date.now();
  results.logs.push(keepRuntimeLog(first, 1));
  const phase: NonNullable<Results['kill']> = {
    startupMs: first.startupMs,
    seedMs,
    total: answer.total,
    taskId,
    startedAt,
    atKill,
    metricsAtKill,
    killedAt,
    restartMs: 0,
    readyAt: 0,
    samples,
  };
  results.kill = phase;

  log('starting the runtime again on the same data');
  results.code.push(codeState());
  const second = await Runtime.start(dataDir);
  phase.readyAt = Date.now();
  phase.restartMs = phase.readyAt - killedAt;
  const printed = second.output().split('\n').map((line) => line.trim());
  phase.beforeReady = printed
    .slice(0, printed.findIndex((line) => line.startsWith('requeue is running')))
    .filter((line) => line !== '' && !line.startsWith('>') && !line.startsWith('{'));
  log(`ready again ${secs(phase.restartMs)} after the kill (npm start took ${secs(second.startupMs)})`);
  let firstAfter: Sample | undefined;
  const final = await follow(
    second,
    2,
    taskId,
    startedAt,
    samples,
    (s) => {
      firstAfter ??= s;
      if (phase.resumedAt === undefined && s.retried > firstAfter.retried) phase.resumedAt = s.at;
      return s.status !== 'RUNNING';
    },
    budget(jobs, maxPerSecond),
  );
  phase.firstAfter = firstAfter;
  const task = await second.call('GET', `/jobs/retry-tasks/${taskId}`, 200);
  phase.final = { ...final, finishedAt: task.finishedAt ?? final.at };
  check(results, 'the task completes after the kill -9 and restart', final.status === 'COMPLETED', `${final.status}, ${fmt(final.retried)} retried, ${final.failed} not`);
  check(results, 'the task took every seeded job', answer.total === jobs, `total ${fmt(answer.total)} of ${fmt(jobs)} seeded`);

  // right away: each job retried exactly once, none left failed
  log('scanning the table: generations and states');
  const scan1 = await scanJobs(second);
  const atCompleted = census(scan1.rows, ids);
  phase.censusAtCompleted = { ...atCompleted, scanMs: scan1.ms, tasks: scan1.tasks };
  const gen = atCompleted.byGeneration;
  const lost = (gen['0'] ?? 0) + (gen.missing ?? 0);
  const doubled = Object.entries(gen)
    .filter(([g]) => g !== 'missing' && Number(g) >= 2)
    .reduce((sum, [, n]) => sum + n, 0);
  check(results, 'every seeded job has generation exactly 1 (none lost, none retried twice)', gen['1'] === jobs, `generation 1: ${fmt(gen['1'] ?? 0)}; 0 or missing (lost): ${lost}; 2 or more (doubled): ${doubled}`);
  check(results, 'no seeded job is left failed when the task is COMPLETED', (atCompleted.byState.failed ?? 0) === 0, `states: ${JSON.stringify(atCompleted.byState)}`);
  check(results, 'one task in the table (the restart made no second one)', scan1.tasks === 1, `${scan1.tasks} task item(s)`);
  const under = (gen['1'] ?? 0) - final.retried;
  check(
    results,
    "the task's retried count equals the jobs retried, through the kill",
    under === 0,
    `task says ${fmt(final.retried)}, the table ${fmt(gen['1'] ?? 0)}${under === 0 ? ' (exactly)' : ` (${under > 0 ? `${under} under` : `${-under} over`})`}`,
  );

  // progress shown: the count never goes back, and moves on within each stretch
  const progress = progressShown(samples);
  phase.longestStallMs = progress.longestStallMs;
  check(
    results,
    'progress: retried never goes down, and moves on at least every 30 s while RUNNING (the restart left out)',
    progress.monotonic && progress.longestStallMs <= 30_000,
    `${progress.readings} readings, ${progress.moved} showing a higher count than the one before; longest stall ${secs(progress.longestStallMs)}${progress.monotonic ? '' : '; the count went DOWN'}`,
  );

  // honouring maxPerSecond, from the series without the restart gap
  const firstRun = samples.filter((s) => s.run === 1);
  const secondRun = [...samples.filter((s) => s.run === 2 && s.status === 'RUNNING'), { ...final, at: phase.final.finishedAt }];
  const { rates, whole } = windowsOf([firstRun, secondRun]);
  phase.windows = rates.length;
  phase.wholeStretches = whole;
  phase.maxWindow = maxWindow(rates);
  phase.meanFirstRun = atKill.retried / ((atKill.at - startedAt) / 1000);
  const resumed = secondRun[0]!;
  phase.meanSecondRun = (final.retried - resumed.retried) / ((phase.final.finishedAt - resumed.at) / 1000);
  const runningMs = phase.final.finishedAt - startedAt - phase.restartMs;
  phase.meanWhole = (gen['1'] ?? 0) / (runningMs / 1000);
  phase.meanWholeWithGap = (gen['1'] ?? 0) / ((phase.final.finishedAt - startedAt) / 1000);
  const mw = phase.maxWindow;
  check(
    results,
    `every 10-s window at most maxPerSecond (${maxPerSecond}/s) plus a page at each edge`,
    mw !== undefined && mw.perSecond <= windowAllowance(maxPerSecond, mw.seconds),
    mw
      ? `worst ${round(mw.perSecond)}/s over ${round(mw.seconds)} s = ${round(mw.perSecond / maxPerSecond, 3)}× maxPerSecond, ${rates.length} windows${whole ? ' (no stretch lasted 10 s: each whole stretch instead)' : ''}`
      : 'no readings to measure',
  );
  check(
    results,
    `the whole task's rate at most maxPerSecond (${maxPerSecond}/s)`,
    phase.meanWhole <= maxPerSecond * 1.01,
    `${round(phase.meanWhole)}/s over ${secs(runningMs)} of RUNNING (the restart's ${secs(phase.restartMs)} left out) = ${round(phase.meanWhole / maxPerSecond, 3)}×`,
  );

  // once every retried job has run: each execution once
  log('waiting for every retried job to run');
  const runBegan = Date.now();
  phase.drain = [];
  await waitForJobsToRun(second, 'every retried job to run', Math.max(budget(jobs, 20), 3_600_000), phase.drain);
  phase.allRunMs = Date.now() - startedAt;
  log('scanning the table: states and histories');
  const scan2 = await scanJobs(second);
  const atEnd = census(scan2.rows, ids);
  phase.censusAtEnd = { ...atEnd, scanMs: scan2.ms };
  log(`all run ${secs(Date.now() - runBegan)} after the task completed`);
  phase.indexAtEnd = await indexCensus(second, scan2.rows);
  log(`byState index: ${JSON.stringify(phase.indexAtEnd.entries)}; ${phase.indexAtEnd.stale} stale entries, ${phase.indexAtEnd.missing} jobs missing`);
  const unfinished = ids.filter((id) => scan2.rows.get(id)?.state !== 'completed');
  check(
    results,
    'every seeded job completed',
    unfinished.length === 0,
    `states: ${JSON.stringify(atEnd.byState)}; generations: ${JSON.stringify(atEnd.byGeneration)}${unfinished.length ? `; e.g. ${unfinished
      .slice(0, 3)
      .map((id) => {
        const row = scan2.rows.get(id);
        return row ? `${id} ${row.state} since ${new Date(row.since).toISOString()}, attempts ${row.attempts}` : `${id} gone`;
      })
      .join('; ')}` : ''}`,
  );
  check(
    results,
    'no job ran the same generation/attempt twice',
    atEnd.duplicateRuns === 0,
    `${atEnd.duplicateRuns} job(s) with a repeated generation/attempt${atEnd.examples.length ? ` (${atEnd.examples.join('; ')})` : ''}; ${atEnd.retriedRunsOverOne} ran more than one attempt after the retry`,
  );

  // the next task on a quiet runtime: whatever messages are left (duplicates the worker drops) go first
  const drainBegan = Date.now();
  const from = await queueDepth(second);
  let to = from;
  let timedOut = false;
  let lastLog = drainBegan;
  while (to >= 100) {
    if (Date.now() - drainBegan > 45 * 60_000) {
      timedOut = true;
      break;
    }
    await sleep(5000);
    to = await queueDepth(second);
    if (Date.now() - lastLog >= 30_000) {
      log(`main queue: ${fmt(to)} message(s) left`);
      lastLog = Date.now();
    }
  }
  phase.queueDrain = { ms: Date.now() - drainBegan, from, to, timedOut };
  log(`main queue: ${fmt(from)} → ${fmt(to)} message(s) in ${secs(phase.queueDrain.ms)}`);
  return second;
};

/** Step 5: a task cancelled at ~30%. */
const cancelledTask = async (options: Options, results: Results, runtime: Runtime): Promise<void> => {
  const { cancelJobs, cancelMaxPerSecond } = options;
  log(`seeding ${fmt(cancelJobs)} failed ${CANCEL_JOB_NAME} jobs`);
  const seedBegan = Date.now();
  const base = Date.now() - cancelJobs - 60_000;
  const seeded = await seedJobs(await seedTarget(runtime, options.concurrency), cancelJobs, (i) => ({
    ...failedJob(1_000_000_000 + i, base + i),
    name: CANCEL_JOB_NAME,
    data: { ms: 0, n: i },
  }));
  const ids = seeded.map((job) => job.id);
  await recount(runtime);
  const seedMs = Date.now() - seedBegan;
  log(`seeded in ${secs(seedMs)}`);

  const answer = await runtime.call('POST', '/jobs/retry-all-failed', 202, { async: true, maxPerSecond: cancelMaxPerSecond, name: CANCEL_JOB_NAME });
  const taskId = answer.taskId as string;
  const startedAt = (await runtime.call('GET', `/jobs/retry-tasks/${taskId}`, 200)).startedAt as number;
  check(results, `the cancelled task took exactly the ${CANCEL_JOB_NAME} jobs`, answer.total === cancelJobs, `total ${fmt(answer.total)} of ${fmt(cancelJobs)} seeded`);
  const samples: Sample[] = [{ at: startedAt, status: 'RUNNING', retried: 0, failed: 0, total: answer.total, run: 1 }];
  const cancelAt = Math.ceil(options.cancelAt * cancelJobs);
  log(`task ${taskId}: ${fmt(answer.total)} jobs at maxPerSecond ${cancelMaxPerSecond}; cancelling at ${Math.round(options.cancelAt * 100)}%`);
  const atCancel = await follow(runtime, 1, taskId, startedAt, samples, (s) => s.retried >= cancelAt || s.status !== 'RUNNING', budget(cancelJobs, cancelMaxPerSecond));
  if (atCancel.status !== 'RUNNING') throw new Error(`the task ended ${atCancel.status} before the cancel point: ${JSON.stringify(atCancel)}`);
  const cancelSent = Date.now();
  const cancel = await runtime.request('POST', `/jobs/retry-tasks/${taskId}/cancel`);
  const phase: NonNullable<Results['cancel']> = {
    seedMs,
    total: answer.total,
    taskId,
    startedAt,
    atCancel,
    cancelAnswer: `${cancel.status} ${cancel.body?.status ?? cancel.text.slice(0, 200)}`,
    samples,
  };
  results.cancel = phase;
  log(`cancel answered ${phase.cancelAnswer}`);
  check(results, 'the cancel is accepted (200, CANCELLING)', cancel.status === 200 && cancel.body?.status === 'CANCELLING', phase.cancelAnswer);
  const end = await follow(runtime, 1, taskId, startedAt, samples, (s) => s.status !== 'RUNNING' && s.status !== 'CANCELLING', 120_000);
  const task = await runtime.call('GET', `/jobs/retry-tasks/${taskId}`, 200);
  phase.cancelledAt = { ...end, finishedAt: task.finishedAt ?? end.at };
  phase.cancelToCancelledMs = phase.cancelledAt.finishedAt - cancelSent;
  check(results, 'the task ends CANCELLED', end.status === 'CANCELLED', `${end.status} ${secs(phase.cancelToCancelledMs)} after the cancel, ${fmt(end.retried)} retried (${round((end.retried / cancelJobs) * 100)}%)`);

  const running = samples.filter((s) => s.status === 'RUNNING');
  const { rates, whole } = windowsOf([running]);
  phase.windows = rates.length;
  phase.wholeStretches = whole;
  phase.maxWindow = maxWindow(rates);
  const last = running.at(-1)!;
  phase.mean = last.retried / ((last.at - startedAt) / 1000);
  const mw = phase.maxWindow;
  check(
    results,
    `cancelled task: every 10-s window at most maxPerSecond (${cancelMaxPerSecond}/s) plus a page at each edge`,
    mw !== undefined && mw.perSecond <= windowAllowance(cancelMaxPerSecond, mw.seconds),
    mw
      ? `worst ${round(mw.perSecond)}/s over ${round(mw.seconds)} s = ${round(mw.perSecond / cancelMaxPerSecond, 3)}× maxPerSecond${whole ? ' (under 10 s of RUNNING: the whole stretch instead)' : ''}; mean ${round(phase.mean)}/s`
      : 'no readings to measure',
  );

  const verify = (c: Census, when: string) => {
    const retried = c.byGeneration['1'] ?? 0;
    const stillFailed = c.byState.failed ?? 0;
    const failedGen0 = c.byGeneration['0'] ?? 0;
    const diff = retried - end.retried;
    check(
      results,
      `${when}: jobs at generation 1 == the task's retried`,
      diff === 0,
      `table ${fmt(retried)}, task ${fmt(end.retried)}${diff === 0 ? ' (exactly)' : ` (${diff > 0 ? '+' : ''}${diff}; ${Math.abs(diff) <= TASK_PAGE ? 'within one page' : 'MORE than one page'})`}`,
    );
    check(
      results,
      `${when}: the others still failed at generation 0; retried + still failed == ${fmt(cancelJobs)}`,
      stillFailed === failedGen0 && failedGen0 + retried === cancelJobs && (c.byGeneration.missing ?? 0) === 0,
      `still failed ${fmt(stillFailed)} (generation 0: ${fmt(failedGen0)}), retried ${fmt(retried)}, sum ${fmt(stillFailed + retried)}; generations ${JSON.stringify(c.byGeneration)}`,
    );
  };
  log('scanning the table at CANCELLED');
  const scan1 = await scanJobs(runtime);
  phase.atCancelled = { ...census(scan1.rows, ids), scanMs: scan1.ms };
  verify(phase.atCancelled, 'at CANCELLED');

  // later, the retried ones run and a reconciler pass (every minute) goes by: the rest must stay failed
  await waitForJobsToRun(runtime, 'the retried jobs to run', Math.max(budget(cancelJobs, 20), 1_800_000), []);
  const laterAt = (phase.cancelledAt.finishedAt ?? Date.now()) + 65_000;
  if (Date.now() < laterAt) {
    log(`waiting ${secs(laterAt - Date.now())} so that a reconciler pass goes by`);
    await sleep(laterAt - Date.now());
  }
  const again = await runtime.call('GET', `/jobs/retry-tasks/${taskId}`, 200);
  log('scanning the table again');
  const scan2 = await scanJobs(runtime);
  const later = census(scan2.rows, ids);
  phase.later = {
    ...later,
    scanMs: scan2.ms,
    afterMs: Date.now() - phase.cancelledAt.finishedAt,
  };
  phase.indexAtEnd = await indexCensus(runtime, scan2.rows);
  log(`byState index: ${JSON.stringify(phase.indexAtEnd.entries)}; ${phase.indexAtEnd.stale} stale entries, ${phase.indexAtEnd.missing} jobs missing`);
  check(results, 'the task is still CANCELLED later, its count unchanged', again.status === 'CANCELLED' && again.retried === end.retried, `${again.status}, ${fmt(again.retried)} retried`);
  verify(later, `${secs(phase.later.afterMs)} after CANCELLED`);
  check(
    results,
    'the retried ones completed, each execution once',
    (later.byState.completed ?? 0) === (later.byGeneration['1'] ?? 0) && later.duplicateRuns === 0,
    `completed ${fmt(later.byState.completed ?? 0)} of ${fmt(later.byGeneration['1'] ?? 0)} retried; ${later.duplicateRuns} with a repeated generation/attempt`,
  );
};

// ---------------------------------------------------------------- the report

const describeIndex = (c: IndexCensus): string =>
  `entries ${JSON.stringify(c.entries)}; ${c.stale} stale (the job is in another state)${c.examples.length ? `: ${c.examples.join('; ')}` : ''}; ${c.missing} job(s) without an entry`;

/** The main queue's depth: largest during the task, at COMPLETED, largest while the jobs ran. */
const queueFigures = (samples: readonly Sample[], drain: readonly DrainPoint[] | undefined): string => {
  const during = samples.map((s) => s.queue).filter((q): q is number => q !== undefined);
  const after = (drain ?? []).map((d) => d.queue);
  const atEnd = samples.at(-1)?.queue;
  if (during.length === 0) return '-';
  return [
    `at most ${fmt(Math.max(...during))} message(s) while the task ran`,
    `${atEnd === undefined ? '?' : fmt(atEnd)} at COMPLETED`,
    after.length ? `at most ${fmt(Math.max(...after))} while the retried jobs ran, ${fmt(after.at(-1)!)} when the last had run` : '',
  ]
    .filter(Boolean)
    .join('; ');
};

/** What the figures show beyond the checks: things to look into. */
const noteworthy = (r: Results): string[] => {
  const notes: string[] = [];
  const k = r.kill;
  if (k && k.readyAt > 0 && k.restartMs > 15_000) {
    const waiting = Number(k.metricsAtKill?.waiting ?? NaN);
    notes.push(
      `The restart after the kill -9 took ${secs(k.restartMs)} to serve its port (the first start: ${secs(k.startupMs)}; the issue's budget for \`npm start\` is 15 s; load average ${r.machine.loadAtStart} at the start of the run)${Number.isFinite(waiting) ? `, with ${fmt(waiting)} jobs waiting by the counters at the kill` : ''}. Before its ready line it printed: ${(k.beforeReady ?? []).map((line) => `"${line}"`).join('; ') || 'nothing'}.`,
    );
  }
  const depths = (k?.samples ?? []).map((s) => s.queue ?? 0).concat((k?.drain ?? []).map((d) => d.queue));
  const most = depths.length ? Math.max(...depths) : 0;
  if (k && most > r.options.jobs * 1.2) {
    notes.push(`The main queue held up to ${fmt(most)} messages for ${fmt(r.options.jobs)} jobs: duplicates the worker must read and drop.`);
  }
  const dl = r.cancel?.deadLetters;
  if (dl && dl.depth > dl.stillFailed) {
    notes.push(
      `The dead-letter queue still held ${fmt(dl.depth - dl.stillFailed)} stale copies (of jobs the cancelled task had retried) ${secs(r.cancel!.later!.afterMs)} after CANCELLED: ${fmt(dl.depth)} messages for ${fmt(dl.stillFailed)} failed jobs. A task that completes sweeps the copies of the jobs it retried; a cancelled one does not, and the reconciler looks at ${100} dead letters per pass.`,
    );
  }
  for (const [when, index] of [
    ['after the first task', k?.indexAtEnd],
    ['at the end', r.cancel?.indexAtEnd],
  ] as const) {
    if (index && (index.stale > 0 || index.missing > 0)) {
      notes.push(
        `The byState index disagreed with the items ${when}: ${index.stale} stale entr${index.stale === 1 ? 'y' : 'ies'}, ${index.missing} job(s) without an entry (${index.examples.join('; ')}). Start-up's re-send and the reconciler find pending jobs through this index: a pending job without its entry is never sent again and stays where it is; a stale pending entry is re-sent every pass and counted by a recount.`,
      );
    }
  }
  return notes;
};

const formatReport = (r: Results): string => {
  const lines: string[] = [];
  const push = (...l: string[]) => lines.push(...l);
  const failed = r.checks.filter((c) => !c.pass).length;
  push(
    '# A retry task at scale',
    '',
    '<!-- written by `npm run bench:task` (bench/retry-task-scale.ts); run it again rather than edit the figures -->',
    '',
    `Issue 5: "A 100,000-job retry task shows progress, honours \`maxPerSecond\`, can be cancelled (jobs already retried stay retried, the rest stay failed), and a kill -9 of the local runtime mid-task does not lose or double it." Measured against the local runtime (\`npm start\`: dynalite, fauxqs, the handlers; the worker on, so the retried ${SEEDED_JOB_NAME} jobs run and complete).`,
    '',
    `**${r.checks.length - failed} of ${r.checks.length} checks pass${failed ? `, ${failed} FAIL` : ''}.**${r.error ? ` The run stopped early: \`${r.error.split('\n')[0]}\`` : ''}`,
    '',
    '## The run',
    '',
    `- Command: \`${r.command}\``,
    `- Date: ${r.date}; the whole run ${r.durationS === undefined ? '(unfinished)' : secs(r.durationS * 1000)}`,
    `- Machine: ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.memoryGiB} GiB; ${r.machine.os}; Node ${r.machine.node}`,
    `- Load average (1 min) at the start ${r.machine.loadAtStart} (5 min ${r.machine.load5AtStart}), at the end ${r.machine.loadAtEnd ?? '-'}: other work shares these cores`,
    ...(r.keptDataDir ? [`- The data folder of this run was kept for a look (\`REQUEUE_DATA_DIR=${r.keptDataDir} npm start\`)`] : []),
    `- Sizes: ${fmt(r.options.jobs)} jobs at maxPerSecond ${r.options.maxPerSecond}, runtime killed at ${Math.round(r.options.killAt * 100)}%; ${fmt(r.options.cancelJobs)} jobs at maxPerSecond ${r.options.cancelMaxPerSecond}, cancelled at ${Math.round(r.options.cancelAt * 100)}%; worker concurrency ${process.env.REQUEUE_WORKER_CONCURRENCY ?? '2 (the default)'}`,
    ...r.code.map(
      (c, i) =>
        `- Code at ${i === 0 ? 'the first start' : 'the restart'}: commit \`${c.commit.slice(0, 12)}\`${c.uncommitted.length ? `, with uncommitted changes under lambda/ and local/ (diff ${c.digest}): ${c.uncommitted.map((f) => `\`${f}\``).join(', ')}` : ', lambda/ and local/ as committed'}`,
    ),
    '',
    '## Checks',
    '',
    '| check | measured | |',
    '| --- | --- | --- |',
    ...r.checks.map((c) => `| ${c.name} | ${c.measured.replace(/\|/g, '\\|')} | **${c.pass ? 'PASS' : 'FAIL'}** |`),
    '',
  );
  const notes = noteworthy(r);
  if (notes.length > 0) push('## Seen on the way', '', ...notes.map((n) => `- ${n}`), '');
  const k = r.kill;
  if (k) {
    const pct = (n: number) => `${round((n / k.total) * 100)}%`;
    push(
      `## ${fmt(r.options.jobs)} jobs, kill -9 at ${Math.round(r.options.killAt * 100)}%`,
      '',
      '| | |',
      '| --- | --- |',
      `| \`npm start\` on a fresh data folder | ${secs(k.startupMs)} |`,
      `| seeding ${fmt(r.options.jobs)} failed jobs (BatchWriteItem, DLQ copies, recount) | ${secs(k.seedMs)} (${Math.round(r.options.jobs / (k.seedMs / 1000))}/s) |`,
      `| task | \`${k.taskId}\`, total ${fmt(k.total)}, maxPerSecond ${r.options.maxPerSecond} |`,
      `| kill -9 (SIGKILL to npm's process group) | +${secs(k.atKill.at - k.startedAt)}, after the reading ${fmt(k.atKill.retried)} retried (${pct(k.atKill.retried)}) |`,
      `| job counters at the kill | ${k.metricsAtKill ? ['waiting', 'active', 'completed', 'failed'].map((s) => `${s} ${fmt(Number(k.metricsAtKill![s] ?? 0))}`).join(', ') : '-'} |`,
      `| restart: kill → ready line on the same data | ${secs(k.restartMs)} |`,
      `| first reading after the restart (the saved checkpoint) | ${k.firstAfter ? `${k.firstAfter.status}, ${fmt(k.firstAfter.retried)} retried` : '-'} |`,
      `| progress again | ${k.resumedAt ? `${secs(k.resumedAt - k.readyAt)} after the ready line` : '-'} |`,
      `| task COMPLETED | ${k.final ? `+${secs(k.final.finishedAt - k.startedAt)} after it started: ${fmt(k.final.retried)} retried, ${k.final.failed} not` : '-'} |`,
      `| mean rate before the kill | ${k.meanFirstRun === undefined ? '-' : `${round(k.meanFirstRun)}/s`} |`,
      `| mean rate after the restart (first reading → COMPLETED) | ${k.meanSecondRun === undefined ? '-' : `${round(k.meanSecondRun)}/s`} |`,
      `| mean rate over the RUNNING time, the restart left out (jobs retried per the table) | ${k.meanWhole === undefined ? '-' : `${round(k.meanWhole)}/s = ${round(k.meanWhole / r.options.maxPerSecond, 3)}× maxPerSecond`} |`,
      `| the same with the restart counted in | ${k.meanWholeWithGap === undefined ? '-' : `${round(k.meanWholeWithGap)}/s`} |`,
      `| worst ${k.wholeStretches ? 'stretch (none lasted 10 s)' : '10-s window'} (of ${k.windows ?? 0}, none spanning the restart) | ${k.maxWindow ? `${round(k.maxWindow.perSecond)}/s over ${round(k.maxWindow.seconds)} s from +${secs(k.maxWindow.from - k.startedAt)} = ${round(k.maxWindow.perSecond / r.options.maxPerSecond, 3)}× maxPerSecond` : '-'} |`,
      `| Scan at COMPLETED | ${k.censusAtCompleted ? `${secs(k.censusAtCompleted.scanMs)}; generations ${JSON.stringify(k.censusAtCompleted.byGeneration)}; states ${JSON.stringify(k.censusAtCompleted.byState)}; ${k.censusAtCompleted.tasks} task item(s)` : '-'} |`,
      `| main queue (visible, in flight, delayed) | ${queueFigures(k.samples, k.drain)} |`,
      `| every job run | ${k.allRunMs === undefined ? '-' : `+${secs(k.allRunMs)} after the task started`} |`,
      `| byState index then, against the Scan | ${k.indexAtEnd ? describeIndex(k.indexAtEnd) : '-'} |`,
      `| main queue emptied before the next task | ${k.queueDrain ? `${fmt(k.queueDrain.from)} → ${fmt(k.queueDrain.to)} message(s) in ${secs(k.queueDrain.ms)}${k.queueDrain.timedOut ? ' (gave up waiting)' : ''}` : '-'} |`,
      `| Scan then | ${k.censusAtEnd ? `${secs(k.censusAtEnd.scanMs)}; states ${JSON.stringify(k.censusAtEnd.byState)}; ${k.censusAtEnd.duplicateRuns} job(s) with a repeated generation/attempt; ${k.censusAtEnd.retriedRunsOverOne} with more than one attempt after the retry` : '-'} |`,
      '',
    );
    if (k.maxWindow && k.meanWhole !== undefined && k.maxWindow.perSecond < r.options.maxPerSecond * 0.9) {
      push(
        `The task never reached its maxPerSecond of ${r.options.maxPerSecond}: the runtime's own pace (${round(k.meanWhole)}/s on average, ${round(k.maxWindow.perSecond)}/s at best over 10 s, with the worker running the retried jobs beside it on the same cores) was the limit, so this task shows the limit is not exceeded but not that it holds the rate down; the cancelled task below, at a maxPerSecond under that pace, does.`,
        '',
      );
    }
    push(
      '<details><summary>Progress, one reading every ~10 s (the task read every second)</summary>',
      '',
      '| time | run | status | retried | not retried | messages in the main queue |',
      '| --- | --- | --- | --- | --- | --- |',
    );
    let lastShown = -Infinity;
    k.samples.forEach((s, i) => {
      const isLast = i === k.samples.length - 1;
      const runChange = i > 0 && k.samples[i - 1]!.run !== s.run;
      if (s.at - lastShown >= 10_000 || isLast || runChange || (i + 1 < k.samples.length && k.samples[i + 1]!.run !== s.run)) {
        push(`| +${secs(s.at - k.startedAt)} | ${s.run === 1 ? 'first' : 'after the restart'} | ${s.status} | ${fmt(s.retried)} | ${s.failed} | ${s.queue === undefined ? '-' : fmt(s.queue)} |`);
        lastShown = s.at;
      }
    });
    push('', '</details>', '');
  }
  const c = r.cancel;
  if (c) {
    push(
      `## ${fmt(r.options.cancelJobs)} jobs, cancelled at ${Math.round(r.options.cancelAt * 100)}%`,
      '',
      `Failed ${CANCEL_JOB_NAME} jobs (a name with a processor, so the retried ones complete), seeded once the first task's jobs had all completed; the task filtered on \`name\`.`,
      '',
      '| | |',
      '| --- | --- |',
      `| seeding | ${secs(c.seedMs)} |`,
      `| task | \`${c.taskId}\`, total ${fmt(c.total)}, maxPerSecond ${r.options.cancelMaxPerSecond} |`,
      `| cancel sent | +${secs(c.atCancel.at - c.startedAt)}, after the reading ${fmt(c.atCancel.retried)} retried (${round((c.atCancel.retried / c.total) * 100)}%); answered ${c.cancelAnswer} |`,
      `| CANCELLED | ${c.cancelledAt ? `${secs(c.cancelToCancelledMs ?? 0)} after the cancel, ${fmt(c.cancelledAt.retried)} retried, ${c.cancelledAt.failed} not` : '-'} |`,
      `| mean rate while RUNNING | ${c.mean === undefined ? '-' : `${round(c.mean)}/s = ${round(c.mean / r.options.cancelMaxPerSecond, 3)}× maxPerSecond`} |`,
      `| worst ${c.wholeStretches ? 'stretch (under 10 s)' : '10-s window'} (of ${c.windows ?? 0}) | ${c.maxWindow ? `${round(c.maxWindow.perSecond)}/s over ${round(c.maxWindow.seconds)} s = ${round(c.maxWindow.perSecond / r.options.cancelMaxPerSecond, 3)}× maxPerSecond` : '-'} |`,
      `| Scan at CANCELLED | ${c.atCancelled ? `${secs(c.atCancelled.scanMs)}; generations ${JSON.stringify(c.atCancelled.byGeneration)}; states ${JSON.stringify(c.atCancelled.byState)}` : '-'} |`,
      `| Scan later | ${c.later ? `${secs(c.later.afterMs)} after CANCELLED (so at least one reconciler pass, every minute, in between); generations ${JSON.stringify(c.later.byGeneration)}; states ${JSON.stringify(c.later.byState)}` : '-'} |`,
      `| byState index at the end, against the Scan | ${c.indexAtEnd ? describeIndex(c.indexAtEnd) : '-'} |`,
      `| dead-letter queue at the end | ${c.deadLetters ? `${fmt(c.deadLetters.depth)} message(s); ${fmt(c.deadLetters.stillFailed)} jobs are still failed (one copy each), so ${fmt(c.deadLetters.depth - c.deadLetters.stillFailed)} stale` : '-'} |`,
      '',
    );
  }
  if (r.logs.length > 0) {
    push(
      '## What the runtime logged',
      '',
      '| start | lines | errors | reconciler re-send warnings (jobs re-sent) | tasks resumed by the reconciler |',
      '| --- | --- | --- | --- | --- |',
      ...r.logs.map((l, i) => `| ${i === 0 ? 'first' : i === 1 ? 'after the kill' : `#${i + 1}`} | ${fmt(l.lines)} | ${l.errors} | ${l.resendWarnings} (${fmt(l.resent)}) | ${l.resumedTasks} |`),
      '',
    );
  }
  push(
    '## How it is measured',
    '',
    `- The runtime is \`npm start\` in a process group of its own on a fresh temporary data folder; the kill is SIGKILL to that whole group, and the restart is \`npm start\` again on the same folder (new ports). fauxqs keeps its queues in memory, so the restart starts with empty queues: local start-up re-sends every unfinished job and resumes every open task.`,
    `- Failed jobs are written straight into the table by bench/seed.ts (the core transitions, the adapter's \`toItem\`, a DLQ copy each), then the job counters are recounted, as \`npm run bench\` does.`,
    `- Progress: \`GET /jobs/retry-tasks/{taskId}\` once a second; each reading is stamped with the middle of its request. A rate window runs from a reading to the first one at least 10 s later; windows never span the restart. A window passes at the limit plus two pages (${TASK_PAGE} jobs each) over its length: the runner retries a page and then waits for it, and each chunk starts with a page.`,
    `- Verification reads the table itself, a paginated Scan from this process: a seeded job at generation 0 (or absent) was lost, at 2 or more retried twice; its history's \`generation/attempt\` pairs must all differ.`,
    `- The task records each page (${TASK_PAGE} jobs) before retrying it and each retry names the task, so a kill loses no count: the runner that resumes settles the recorded page job by job, and the task's \`retried\` must equal the jobs at generation 1.`,
    '',
  );
  if (r.error) push('## Error', '', '```', r.error.slice(0, 6000), '```', '');
  push(KEEP_BELOW, '');
  return lines.join('\n');
};

const main = async (): Promise<void> => {
  const argv = process.argv.slice(2);
  if (argv.includes('--help')) {
    process.stdout.write(`${usage()}\n`);
    return;
  }
  const options = readOptions(argv, process.env);
  // the SDK's notice about its future Node.js support is noise here, as in the runtime
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  guardRuntimes();
  const began = Date.now();
  const results: Results = {
    command: commandLine(argv, process.env),
    date: new Date().toISOString(),
    machine: { ...describeMachine(), load5AtStart: round(loadavg()[1]!, 2) },
    code: [codeState()],
    options,
    checks: [],
    logs: [],
  };
  const dataDir = tempDataDir();
  let runtime: Runtime | undefined;
  try {
    log(`starting the local runtime on ${dataDir}`);
    runtime = await Runtime.start(dataDir);
    runtime = await killedTask(options, results, dataDir, runtime);
    await cancelledTask(options, results, runtime);
    if (results.cancel?.later) {
      const depth = await deadLetterDepth(runtime);
      results.cancel.deadLetters = { depth, stillFailed: results.cancel.later.byState.failed ?? 0 };
      log(`dead-letter queue at the end: ${depth} message(s)`);
    }
    log('stopping the runtime');
    await runtime.interrupt();
    results.logs.push(keepRuntimeLog(runtime, results.logs.length + 1));
  } catch (error) {
    results.error = (error as Error).stack ?? String(error);
    process.stderr.write(`${results.error}\n`);
    if (Runtime.current) {
      process.stderr.write(`The runtime's last output:\n${Runtime.current.output().slice(-4000)}\n`);
      results.logs.push(keepRuntimeLog(Runtime.current, results.logs.length + 1));
      await Runtime.current.kill().catch(() => undefined);
    }
  } finally {
    // a failed run keeps its table for a look: REQUEUE_DATA_DIR=<folder> npm start
    if (results.error || results.checks.some((c) => !c.pass)) {
      results.keptDataDir = dataDir;
      log(`the data folder is kept: ${dataDir}`);
    } else {
      removeDataDir(dataDir);
    }
  }
  results.durationS = (Date.now() - began) / 1000;
  results.machine.loadAtEnd = round(loadavg()[0]!, 2);
  mkdirSync(path.dirname(options.out), { recursive: true });
  let kept = '';
  try {
    const existing = readFileSync(options.out, 'utf8');
    const at = existing.indexOf(KEEP_BELOW);
    if (at >= 0) kept = existing.slice(at + KEEP_BELOW.length).replace(/^\n+/, '');
  } catch {
    // no report yet
  }
  writeFileSync(options.out, formatReport(results) + (kept ? `\n${kept}` : ''));
  const failed = results.checks.filter((c) => !c.pass).length;
  log(`${results.checks.length - failed} of ${results.checks.length} checks pass; report written to ${path.relative(process.cwd(), options.out) || options.out}`);
  if (failed > 0 || results.error) process.exitCode = 1;
};

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof OptionsError ? error.message : ((error as Error).stack ?? String(error))}\n`);
  process.exitCode = 1;
});
