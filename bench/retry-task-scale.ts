/**
 * `npm run bench:task`: issue 5's retry task at scale against `npm start`, its
 * worker on, through a kill -9 of the runtime and a cancel; writes
 * docs/RETRY-TASK-AT-SCALE.md and exits 1 when a check fails.
 */
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, paginateScan } from '@aws-sdk/lib-dynamodb';
import { removeDataDir, ROOT, signalGroup, startLocalRuntime, tempDataDir, type LocalRuntime } from '../local/launcher';
import { freePorts, waitFor } from './load';
import { runBench, type Values } from './options';
import { describeMachine, fixed, machineTable, table, writeReport, type Machine } from './report';
import { failedJob, SEEDED_JOB_NAME, seedJobs } from './seed';

const KNOBS = {
  jobs: { env: 'BENCH_TASK_JOBS', fallback: 100_000, help: 'failed jobs for the task killed mid-way' },
  maxPerSecond: { env: 'BENCH_TASK_MAX_PER_SECOND', fallback: 500, help: "that task's maxPerSecond" },
  cancelJobs: { env: 'BENCH_TASK_CANCEL_JOBS', fallback: 20_000, help: 'failed jobs for the task that is cancelled' },
  cancelMaxPerSecond: { env: 'BENCH_TASK_CANCEL_MAX_PER_SECOND', fallback: 100, help: "the cancelled task's maxPerSecond" },
};
const KILL_AT = 0.4;
const CANCEL_AT = 0.3;
const PAGE = 'docs/RETRY-TASK-AT-SCALE.md';
/** As local/main.ts provisions them. */
const TABLE = 'requeue-jobs';
const DEAD_LETTER_QUEUE = 'requeue-jobs-dlq';
/** A second job name with a processor: the cancelled task's name filter is part of what it checks. */
const CANCEL_JOB_NAME = 'demo.sleep';

const log = (message: string) => process.stderr.write(`[task ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
const secs = (ms: number) => `${fixed(ms / 1000, 1)} s`;

type Runtime = { readonly local: LocalRuntime; readonly doc: DynamoDBDocumentClient; readonly sqs: SQSClient };
let runtimeGroup: number | undefined;
let latest: Runtime | undefined;
// the runtime runs in a process group of its own, which no Ctrl-C reaches: it goes when this process does
process.on('exit', () => runtimeGroup !== undefined && signalGroup(runtimeGroup, 'SIGKILL'));
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => process.exit(130));

/** `npm start` on ports chosen here, to seed and Scan its table; a restart re-sends every unfinished job before it serves: far past 15 s. */
const start = async (dataDir: string): Promise<Runtime> => {
  const [dynamoDb, sqs] = await freePorts();
  const env = { DYNAMODB_PORT: String(dynamoDb), SQS_PORT: String(sqs) };
  const local = await startLocalRuntime({ dataDir, env, startupBudgetMs: 15 * 60_000, onSpawn: (pgid) => (runtimeGroup = pgid) });
  const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  const on = (port: number) => ({ region: 'us-east-1', endpoint: `http://127.0.0.1:${port}`, credentials });
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient(on(dynamoDb)));
  return (latest = { local, doc, sqs: new SQSClient({ ...on(sqs), useQueueUrlAsEndpoint: false }) });
};

const call = async (rt: Runtime, route: string, expected = 200, method = 'GET', body?: unknown): Promise<any> => {
  const answer = await rt.local.request(method, route, body);
  if (answer.status !== expected) throw new Error(`${method} ${route} answered ${answer.status}, not ${expected}: ${answer.text.slice(0, 300)}`);
  return answer.body;
};

type Sample = { readonly at: number; readonly run: number; readonly status: string; readonly retried: number };
const series = { killed: [] as Sample[], cancelled: [] as Sample[] };
const checks: { name: string; pass: boolean; measured: string }[] = [];
const check = (name: string, pass: boolean, measured: string) => {
  checks.push({ name, pass, measured });
  log(`${pass ? 'PASS' : 'FAIL'}  ${name}: ${measured}`);
};

/** GET the task about once a second, each reading stamped with the middle of its request, until `stop` accepts one. */
const follow = async (rt: Runtime, run: number, taskId: string, samples: Sample[], stop: (s: Sample) => boolean) => {
  const read = async () => {
    const before = Date.now();
    const task = await call(rt, `/jobs/retry-tasks/${taskId}`);
    samples.push({ at: Math.round((before + Date.now()) / 2), run, status: task.status, retried: task.retried });
    if (samples.length % 10 === 1) log(`${task.status}: ${fixed(task.retried)} of ${fixed(task.total)} retried`);
    return task;
  };
  const task = await waitFor(read, () => stop(samples.at(-1)!), `task ${taskId} to move on`, 60 * 60_000, 1_000);
  const last = samples.at(-1)!;
  return { ...last, startedAt: task.startedAt as number, finishedAt: (task.finishedAt ?? last.at) as number };
};

/** `count` failed jobs, counted by the stream before the task starts (its total is the counters'); the task followed to `share`. */
const startTask = async (rt: Runtime, count: number, make: typeof failedJob, body: object, samples: Sample[], share: number, next: string) => {
  const began = Date.now();
  const { QueueUrl } = await rt.sqs.send(new GetQueueUrlCommand({ QueueName: DEAD_LETTER_QUEUE }));
  const target = { doc: rt.doc, tableName: TABLE, sqs: rt.sqs, deadLetterQueueUrl: QueueUrl!, concurrency: 16 };
  const seeded = await seedJobs(target, count, (i) => make(i, began - count + i));
  await waitFor(() => call(rt, '/jobs/metrics'), (m) => m.failed >= count, 'the stream to count the seeded jobs', 600_000, 500);
  const task = await call(rt, '/jobs/retry-all-failed', 202, 'POST', { async: true, ...body });
  const seeding = `seeded in ${secs(Date.now() - began)}, total ${fixed(task.total)}`;
  check(`the task takes exactly the ${fixed(count)} seeded ${make(0, began).name} jobs`, task.total === count, seeding);
  const at = await follow(rt, 1, task.taskId, samples, (s) => s.retried >= share * count || s.status !== 'RUNNING');
  if (at.status !== 'RUNNING') throw new Error(`the task ended ${at.status} before the ${next}`);
  return { ids: seeded.map((job) => job.id), taskId: task.taskId as string, at };
};

/**
 * The worst rate from each reading to the first 10 s or more later, per
 * stretch (a shorter one whole): at most the limit plus a page at each edge,
 * as the task runner (lambda/core/run-retry-task.ts) retries a page of 100 at once.
 */
const rateCheck = (stretches: readonly (readonly Sample[])[], limit: number) => {
  const pairs = (s: readonly Sample[]) =>
    s.flatMap((a, i) => s.filter((b, j) => j > i && b.at - a.at >= 10_000).slice(0, 1).map((b) => [a, b] as const));
  const windows = stretches.flatMap((s) => (pairs(s).length > 0 || s.length < 2 ? pairs(s) : [[s[0]!, s.at(-1)!] as const]));
  const rates = windows.map(([a, b]) => ({ perSecond: (b.retried - a.retried) / ((b.at - a.at) / 1000), seconds: (b.at - a.at) / 1000 }));
  const worst = rates.reduce((a, b) => (b.perSecond > a.perSecond ? b : a), { perSecond: 0, seconds: 10 });
  const pass = rates.length > 0 && worst.perSecond <= limit + (2 * Math.min(100, limit)) / worst.seconds;
  const measured = `worst of ${rates.length}: ${fixed(worst.perSecond, 1)}/s`;
  check(`every 10-s window at most maxPerSecond (${limit}/s) plus a page at each edge`, pass, measured);
};

/** The seeded jobs by generation and state, by a Scan once all ran: listing a pending state is only cheap once the counters show none. */
const census = async (rt: Runtime, ids: readonly string[]) => {
  await waitFor(() => call(rt, '/jobs/metrics'), (m) => !(m.waiting + m.active + m.delayed), 'every job to run', 3_600_000, 5_000);
  const pages = () => Promise.all(['waiting', 'active', 'delayed'].map((state) => call(rt, `/jobs?state=${state}&limit=1`)));
  await waitFor(pages, (listed) => listed.every((page) => page.length === 0), 'GET /jobs to list none left to run', 600_000, 1_000);
  const items = new Map<string, any>();
  const scan = { TableName: TABLE, ProjectionExpression: 'id, #s, generation, history', ExpressionAttributeNames: { '#s': 'state' } };
  for await (const page of paginateScan({ client: rt.doc }, scan)) {
    for (const item of page.Items ?? []) items.set(String(item.id), item);
  }
  const count = (is: (job: any) => boolean) => ids.filter((id) => items.has(id) && is(items.get(id))).length;
  const runs = (job: any): string[] => (job.history ?? []).map((e: { generation: number; attempt: number }) => `${e.generation}/${e.attempt}`);
  const untouched = count((j) => j.generation === 0);
  return {
    once: count((j) => j.generation === 1),
    untouched,
    lost: untouched + ids.length - count(() => true),
    failed: count((j) => j.state === 'failed'),
    completed: count((j) => j.state === 'completed'),
    repeatedRuns: count((j) => new Set(runs(j)).size < runs(j).length),
  };
};

const killedTask = async (o: Values<typeof KNOBS>, dataDir: string, first: Runtime, samples = series.killed): Promise<Runtime> => {
  const body = { maxPerSecond: o.maxPerSecond };
  const { ids, taskId, at: atKill } = await startTask(first, o.jobs, failedJob, body, samples, KILL_AT, 'kill');
  await first.local.kill();
  const killedAt = Date.now();
  const second = await start(dataDir);
  const restart = `ready again ${secs(Date.now() - killedAt)} after the kill at ${fixed(atKill.retried)}`;
  const end = await follow(second, 2, taskId, samples, (s) => s.status !== 'RUNNING');
  check('the task completes after the kill -9 and restart', end.status === 'COMPLETED', `${end.status}, ${fixed(end.retried)} retried; ${restart}`);
  const failedLeft = await call(second, '/jobs?state=failed&limit=1');
  const tasks = await call(second, '/jobs/retry-tasks');
  const listed = `${failedLeft.length} failed, ${tasks.length} task(s)`;
  check('then none listed failed, and one task listed', !failedLeft.length && tasks.length === 1, listed);
  const down = samples.some((s, i) => i > 0 && s.retried < samples[i - 1]!.retried);
  let stallMs = 0;
  let since = samples[0]!;
  for (const s of samples) {
    if (s.run !== since.run || s.retried !== since.retried || s.status !== 'RUNNING') since = s;
    else stallMs = Math.max(stallMs, s.at - since.at);
  }
  const stall = `longest stall ${secs(stallMs)}${down ? '; DOWN' : ''}`;
  check('progress: retried never goes down, moves on within 30 s while RUNNING', !down && stallMs <= 30_000, stall);
  const afterRestart = [...samples.filter((s) => s.run === 2 && s.status === 'RUNNING'), { ...end, at: end.finishedAt }];
  rateCheck([samples.filter((s) => s.run === 1), afterRestart], o.maxPerSecond);
  const runningMs = end.finishedAt - end.startedAt - (afterRestart[0]!.at - atKill.at);
  const mean = end.retried / (runningMs / 1000);
  const overall = `${fixed(mean, 1)}/s over ${secs(runningMs)} RUNNING (the restart left out)`;
  check(`the whole task's rate at most maxPerSecond`, mean <= o.maxPerSecond * 1.01, overall);
  const c = await census(second, ids);
  const generations = `${fixed(c.once)}; lost ${c.lost}; retried twice or more ${o.jobs - c.once - c.lost}`;
  check('every seeded job at generation exactly 1', c.once === o.jobs, generations);
  check("the task's retried equals the jobs retried, through the kill", end.retried === c.once, `task ${fixed(end.retried)}, table ${fixed(c.once)}`);
  const completed = `${fixed(c.completed)}; ${c.repeatedRuns} repeated`;
  check('every seeded job completed, no generation/attempt run twice', c.completed === o.jobs && !c.repeatedRuns, completed);
  return second;
};

const cancelledTask = async (o: Values<typeof KNOBS>, rt: Runtime, samples = series.cancelled): Promise<void> => {
  const make = (i: number, failedAt: number) => ({ ...failedJob(1_000_000_000 + i, failedAt), name: CANCEL_JOB_NAME, data: { ms: 0, n: i } });
  const body = { maxPerSecond: o.cancelMaxPerSecond, name: CANCEL_JOB_NAME };
  const { ids, taskId, at: atCancel } = await startTask(rt, o.cancelJobs, make, body, samples, CANCEL_AT, 'cancel');
  const cancel = await rt.local.request('POST', `/jobs/retry-tasks/${taskId}/cancel`);
  const accepted = cancel.status === 200 && cancel.body?.status === 'CANCELLING';
  check('the cancel is accepted (200, CANCELLING)', accepted, `${cancel.status} ${cancel.body?.status}`);
  const end = await follow(rt, 1, taskId, samples, (s) => s.status !== 'RUNNING' && s.status !== 'CANCELLING');
  const ended = `${end.status} ${secs(end.finishedAt - atCancel.at)} after the cancel at ${fixed(atCancel.retried)}`;
  check('the task ends CANCELLED', end.status === 'CANCELLED', ended);
  rateCheck([samples.filter((s) => s.status === 'RUNNING')], o.cancelMaxPerSecond);
  // the reconciler runs every minute: one pass at least between CANCELLED and the last look
  await sleep(Math.max(0, end.finishedAt + 65_000 - Date.now()));
  const c = await census(rt, ids);
  const again = await call(rt, `/jobs/retry-tasks/${taskId}`);
  const unchanged = again.status === 'CANCELLED' && again.retried === end.retried;
  check('a reconciler pass later, still CANCELLED, its count unchanged', unchanged, `${fixed(again.retried)} retried`);
  check("then the jobs at generation 1 are the task's retried", c.once === end.retried, `table ${fixed(c.once)}, task ${fixed(end.retried)}`);
  const rest = `failed ${fixed(c.failed)}, generation 0: ${fixed(c.untouched)}`;
  check('and the rest still failed, at generation 0', c.failed === c.untouched && c.once + c.untouched === o.cancelJobs, rest);
  const completed = `${fixed(c.completed)}; ${c.repeatedRuns} repeated`;
  check('the retried ones completed, no generation/attempt run twice', c.completed === end.retried && !c.repeatedRuns, completed);
};

/** The page: the checks with what each measured, the command and the machine; the readings go to the JSON beside it. */
const page = (o: Values<typeof KNOBS>, machine: Machine, run: { command: string; date: string; commit: string; ms: number; error?: string }) => {
  const failed = checks.filter((c) => !c.pass).length;
  const passed = `**${checks.length - failed} of ${checks.length} checks pass${failed ? `, ${failed} FAIL` : ''}.**`;
  const stopped = run.error ? ` Stopped early: \`${run.error.split('\n')[0]}\`` : '';
  const killed = `${fixed(o.jobs)} jobs at maxPerSecond ${o.maxPerSecond}, killed at ${KILL_AT * 100}%`;
  const cancelled = `${fixed(o.cancelJobs)} at ${o.cancelMaxPerSecond}, cancelled at ${CANCEL_AT * 100}%`;
  return [
    '# A retry task at scale',
    '',
    '<!-- written by `npm run bench:task` (bench/retry-task-scale.ts); the readings are in retry-task-at-scale.json -->',
    '',
    'What issue 5 asks of a retry task, measured against `npm start` with its worker on',
    `(the retried ${SEEDED_JOB_NAME} and ${CANCEL_JOB_NAME} jobs run).`,
    '',
    `${passed}${stopped}`,
    '',
    `- Command: \`${run.command}\`, ${run.date} at commit \`${run.commit}\`; the whole run ${secs(run.ms)}`,
    `- Sizes: ${killed}; ${cancelled}`,
    '',
    ...machineTable(machine),
    '',
    ...table([['check', 'measured', ''], ...checks.map((c) => [c.name, c.measured, `**${c.pass ? 'PASS' : 'FAIL'}**`])]),
    '',
  ].join('\n');
};

runBench('bench:task', KNOBS, async (o, command) => {
  const commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  const [began, date, machine, dataDir] = [Date.now(), new Date().toISOString(), describeMachine(), tempDataDir()];
  let error: string | undefined;
  try {
    await cancelledTask(o, await killedTask(o, dataDir, await start(dataDir)));
    await latest!.local.interrupt(60_000);
  } catch (e) {
    error = (e as Error).stack ?? String(e);
    log(`${error}\nthe runtime's last output:\n${latest?.local.output().slice(-3000) ?? '-'}`);
    await latest?.local.kill().catch(() => undefined);
  }
  removeDataDir(dataDir);
  machine.loadAtEnd = describeMachine().loadAtStart;
  const raw = JSON.stringify({ command, date, commit, options: o, machine, checks, series, error });
  const body = page(o, machine, { command, date, commit, ms: Date.now() - began, ...(error ? { error } : {}) });
  writeReport(`${ROOT}/${PAGE}`, body, { keep: true, beside: { 'retry-task-at-scale.json': `${raw}\n` } });
  const failed = checks.filter((c) => !c.pass).length;
  log(`${checks.length - failed} of ${checks.length} checks pass; ${PAGE} written`);
  if (failed || error) process.exitCode = 1;
});
