/**
 * `npm run bench:task`: issue 5's "a 100,000-job retry task shows progress, honours `maxPerSecond`, can be
 * cancelled (jobs already retried stay retried, the rest stay failed), and a kill -9 of the local runtime mid-task
 * does not lose or double it", against `npm start` with its worker on: a task over `--jobs` failed jobs, its runtime
 * killed at 40% and started again on the same data, then one over `--cancel-jobs` cancelled at 30%. Writes
 * docs/RETRY-TASK-AT-SCALE.md and the readings beside it (retry-task-at-scale.json); exits 1 when a check fails.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { Job } from '../lambda/core/job';
import { removeDataDir, ROOT, signalGroup, startLocalRuntime, tempDataDir, type LocalRuntime } from '../local/launcher';
import { freePorts, waitFor } from './load';
import { parseFlags } from './options';
import { describeMachine } from './report';
import { failedJob, SEEDED_JOB_NAME, seedJobs } from './seed';

const KNOBS = [
  ['jobs', 100_000, 'failed jobs for the task killed mid-way'],
  ['max-per-second', 500, "that task's maxPerSecond"],
  ['cancel-jobs', 20_000, 'failed jobs for the task that is cancelled'],
  ['cancel-max-per-second', 100, "the cancelled task's maxPerSecond"],
] as const;
type Options = { jobs: number; maxPerSecond: number; cancelJobs: number; cancelMaxPerSecond: number };
const [KILL_AT, CANCEL_AT] = [0.4, 0.3];
const [PAGE, RAW] = [path.join(ROOT, 'docs', 'RETRY-TASK-AT-SCALE.md'), path.join(ROOT, 'docs', 'retry-task-at-scale.json')];
const KEEP_BELOW = '<!-- written by hand below this line; npm run bench:task keeps it -->';
/** As local/main.ts provisions them. */
const [TABLE, DEAD_LETTER_QUEUE] = ['requeue-jobs', 'requeue-jobs-dlq'];
/** Another name with a processor: the cancelled task's name filter is part of what it checks. */
const CANCEL_JOB_NAME = 'demo.sleep';

const usage = ['npm run bench:task [-- --flag=value ...]', ...KNOBS.map(([flag, n, help]) => `  --${flag.padEnd(22)} ${help} (default ${n})`)].join('\n');
const refuse = (problem: string): never => {
  process.stderr.write(`${problem}\n${usage}\n`);
  return process.exit(2);
};
const readOptions = (argv: readonly string[]): Options => {
  const flags = parseFlags(argv, refuse);
  const options: Record<string, number> = {};
  for (const [flag, fallback] of KNOBS) {
    const value = Number((flags.get(flag) ?? String(fallback)).replace(/_/g, ''));
    if (!Number.isInteger(value) || value < 1) refuse(`--${flag} takes a whole number, 1 or more; got '${flags.get(flag)}'.`);
    options[flag.replace(/-./g, (dash) => dash[1]!.toUpperCase())] = value;
  }
  const unknown = [...flags.keys()].find((flag) => !KNOBS.some(([known]) => known === flag));
  return unknown ? refuse(`Unknown flag --${unknown}.`) : (options as Options);
};

const log = (message: string) => process.stderr.write(`[task ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
const fmt = (n: number) => n.toLocaleString('en-US');
const round = (n: number) => Math.round(n * 10) / 10;
const secs = (ms: number) => `${round(ms / 1000)} s`;
type Runtime = { readonly local: LocalRuntime; readonly doc: DynamoDBDocumentClient; readonly sqs: SQSClient };
/** The runtime's process group while one runs: killed when this process exits, whatever the reason. */
let [runtimeGroup, latest]: [number | undefined, Runtime | undefined] = [undefined, undefined];
process.on('exit', () => runtimeGroup !== undefined && signalGroup(runtimeGroup, 'SIGKILL'));
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => process.exit(130));

/** `npm start` on ports chosen here, so that this process can seed its table and DLQ and Scan the table. */
const start = async (dataDir: string): Promise<Runtime> => {
  const [dynamoDb, sqs] = await freePorts();
  const env = { DYNAMODB_PORT: String(dynamoDb), SQS_PORT: String(sqs) };
  // a restart after the kill re-sends every unfinished job first: at full size, far past the usual 15-s budget
  const local = await startLocalRuntime({ dataDir, env, startupBudgetMs: 15 * 60_000, onSpawn: (pgid) => (runtimeGroup = pgid) });
  const on = (port: number) => ({ region: 'us-east-1', endpoint: `http://127.0.0.1:${port}`, credentials: { accessKeyId: 'l', secretAccessKey: 'l' } });
  return (latest = { local, doc: DynamoDBDocumentClient.from(new DynamoDBClient(on(dynamoDb))), sqs: new SQSClient({ ...on(sqs), useQueueUrlAsEndpoint: false }) });
};

const call = async (rt: Runtime, method: string, route: string, expected: number, body?: unknown): Promise<any> => {
  const answer = await rt.local.request(method, route, body);
  if (answer.status !== expected) throw new Error(`${method} ${route} answered ${answer.status}, not ${expected}: ${answer.text.slice(0, 300)}`);
  return answer.body;
};
/** One reading of a task; `run` says which start of the runtime answered. */
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
    const task = await call(rt, 'GET', `/jobs/retry-tasks/${taskId}`, 200);
    samples.push({ at: Math.round((before + Date.now()) / 2), run, status: task.status, retried: task.retried });
    if (samples.length % 10 === 1) log(`${task.status}: ${fmt(task.retried)} of ${fmt(task.total)} retried`);
    return task;
  };
  const task = await waitFor(read, () => stop(samples.at(-1)!), `task ${taskId} to move on`, 60 * 60_000, 1_000);
  return { ...samples.at(-1)!, startedAt: task.startedAt as number, finishedAt: (task.finishedAt ?? samples.at(-1)!.at) as number };
};

/** `count` failed jobs, counted by the table's stream before the task starts (retry-all's total is the counters'). */
const seedAndStart = async (rt: Runtime, count: number, make: (i: number) => Job, body: Record<string, unknown>) => {
  const [began, { QueueUrl }] = [Date.now(), await rt.sqs.send(new GetQueueUrlCommand({ QueueName: DEAD_LETTER_QUEUE }))];
  const seeded = await seedJobs({ doc: rt.doc, tableName: TABLE, sqs: rt.sqs, deadLetterQueueUrl: QueueUrl!, concurrency: 16 }, count, make);
  await waitFor(() => call(rt, 'GET', '/jobs/metrics', 200), (m) => m.failed >= count, 'the stream to count the seeded jobs', 600_000, 500);
  const task = await call(rt, 'POST', '/jobs/retry-all-failed', 202, { async: true, ...body });
  check(`the task takes exactly the ${fmt(count)} seeded ${make(0).name} jobs`, task.total === count, `seeded in ${secs(Date.now() - began)}, total ${fmt(task.total)}`);
  return { ids: seeded.map((job) => job.id), taskId: task.taskId as string };
};

/**
 * The worst rate from a reading to the first 10 s or more later, per stretch (a shorter one whole): at most the limit
 * plus a page at each edge, as the task runner (lambda/core/run-retry-task.ts) retries a page of 100 at once.
 */
const rateCheck = (stretches: readonly (readonly Sample[])[], limit: number) => {
  const rates: { perSecond: number; seconds: number }[] = [];
  const rate = (a: Sample, b: Sample, seconds = (b.at - a.at) / 1000) => rates.push({ perSecond: (b.retried - a.retried) / seconds, seconds });
  for (const s of stretches) {
    const before = rates.length;
    for (let i = 0, j = 1; i < s.length; i++) {
      while (j < s.length && s[j]!.at - s[i]!.at < 10_000) j++;
      if (j < s.length) rate(s[i]!, s[j]!);
    }
    if (rates.length === before && s.length > 1) rate(s[0]!, s.at(-1)!);
  }
  const worst = rates.reduce((a, b) => (b.perSecond > a.perSecond ? b : a), { perSecond: 0, seconds: 10 });
  const pass = rates.length > 0 && worst.perSecond <= limit + (2 * Math.min(100, limit)) / worst.seconds;
  check(`every 10-s window at most maxPerSecond (${limit}/s) plus a page at each edge`, pass, `worst of ${rates.length}: ${round(worst.perSecond)}/s`);
};
/** Listing one pending state reads the pending jobs' entries until it finds one: only cheap once the counters show none left. */
const waitForJobsToRun = async (rt: Runtime) => {
  await waitFor(() => call(rt, 'GET', '/jobs/metrics', 200), (m) => !(m.waiting + m.active + m.delayed), 'every job to run', 3_600_000, 5_000);
  const pages = () => Promise.all(['waiting', 'active', 'delayed'].map((state) => call(rt, 'GET', `/jobs?state=${state}&limit=1`, 200)));
  await waitFor(pages, (listed) => listed.every((page) => page.length === 0), 'GET /jobs to list none left to run', 600_000, 1_000);
};

/** The seeded jobs by generation and state, from a Scan: only the table shows every job's generation. */
const census = async (rt: Runtime, ids: readonly string[]) => {
  const [items, projection] = [new Map<string, any>(), { ProjectionExpression: 'id, #s, generation, history', ExpressionAttributeNames: { '#s': 'state' } }];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await rt.doc.send(new ScanCommand({ TableName: TABLE, ...projection, ExclusiveStartKey }));
    for (const item of page.Items ?? []) items.set(String(item.id), item);
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  const c = { generation: {} as Record<string, number>, state: {} as Record<string, number>, repeatedRuns: 0 };
  for (const item of ids.map((id) => items.get(id) ?? { generation: 'missing', state: 'missing' })) {
    c.generation[item.generation] = (c.generation[item.generation] ?? 0) + 1;
    c.state[item.state] = (c.state[item.state] ?? 0) + 1;
    const runs = ((item.history ?? []) as { generation: number; attempt: number }[]).map((e) => `${e.generation}/${e.attempt}`);
    if (new Set(runs).size !== runs.length) c.repeatedRuns++;
  }
  return { ...c, once: c.generation['1'] ?? 0, untouched: c.generation['0'] ?? 0, failed: c.state.failed ?? 0, completed: c.state.completed ?? 0 };
};

const killedTask = async (o: Options, dataDir: string, first: Runtime): Promise<Runtime> => {
  const [failedAt, samples] = [Date.now() - o.jobs, series.killed];
  const { ids, taskId } = await seedAndStart(first, o.jobs, (i) => failedJob(i, failedAt + i), { maxPerSecond: o.maxPerSecond });
  const atKill = await follow(first, 1, taskId, samples, (s) => s.retried >= KILL_AT * o.jobs || s.status !== 'RUNNING');
  if (atKill.status !== 'RUNNING') throw new Error(`the task ended ${atKill.status} before the kill`);
  await first.local.kill();
  const [killedAt, second] = [Date.now(), await start(dataDir)];
  const restart = `ready again ${secs(Date.now() - killedAt)} after the kill at ${fmt(atKill.retried)}`;
  const end = await follow(second, 2, taskId, samples, (s) => s.status !== 'RUNNING');
  check('the task completes after the kill -9 and restart', end.status === 'COMPLETED', `${end.status}, ${fmt(end.retried)} retried; ${restart}`);
  const [failedLeft, tasks] = [await call(second, 'GET', '/jobs?state=failed&limit=1', 200), await call(second, 'GET', '/jobs/retry-tasks', 200)];
  check('then none listed failed, and one task listed', !failedLeft.length && tasks.length === 1, `${failedLeft.length} failed, ${tasks.length} task(s)`);
  let [down, stallMs, since] = [false, 0, samples[0]!];
  samples.forEach((s, i) => {
    if (i > 0 && s.retried < samples[i - 1]!.retried) down = true;
    if (s.run !== since.run || s.retried !== since.retried || s.status !== 'RUNNING') since = s;
    else stallMs = Math.max(stallMs, s.at - since.at);
  });
  check('progress: retried never goes down, moves on within 30 s while RUNNING', !down && stallMs <= 30_000, `longest stall ${secs(stallMs)}${down ? '; DOWN' : ''}`);
  const afterRestart = [...samples.filter((s) => s.run === 2 && s.status === 'RUNNING'), { ...end, at: end.finishedAt }];
  rateCheck([samples.filter((s) => s.run === 1), afterRestart], o.maxPerSecond);
  const runningMs = end.finishedAt - end.startedAt - (afterRestart[0]!.at - atKill.at);
  const mean = end.retried / (runningMs / 1000);
  check(`the whole task's rate at most maxPerSecond`, mean <= o.maxPerSecond * 1.01, `${round(mean)}/s over ${secs(runningMs)} RUNNING (the restart left out)`);
  await waitForJobsToRun(second);
  const c = await census(second, ids);
  const lost = c.untouched + (c.generation.missing ?? 0);
  check('every seeded job at generation exactly 1', c.once === o.jobs, `${fmt(c.once)}; lost ${lost}; retried twice or more ${o.jobs - c.once - lost}`);
  check("the task's retried equals the jobs retried, through the kill", end.retried === c.once, `task ${fmt(end.retried)}, table ${fmt(c.once)}`);
  check('every seeded job completed, no generation/attempt run twice', c.completed === o.jobs && !c.repeatedRuns, `${fmt(c.completed)}; ${c.repeatedRuns} repeated`);
  return second;
};

const cancelledTask = async (o: Options, rt: Runtime): Promise<void> => {
  const [failedAt, samples] = [Date.now() - o.cancelJobs, series.cancelled];
  const make = (i: number): Job => ({ ...failedJob(1_000_000_000 + i, failedAt + i), name: CANCEL_JOB_NAME, data: { ms: 0, n: i } });
  const { ids, taskId } = await seedAndStart(rt, o.cancelJobs, make, { maxPerSecond: o.cancelMaxPerSecond, name: CANCEL_JOB_NAME });
  const atCancel = await follow(rt, 1, taskId, samples, (s) => s.retried >= CANCEL_AT * o.cancelJobs || s.status !== 'RUNNING');
  if (atCancel.status !== 'RUNNING') throw new Error(`the task ended ${atCancel.status} before the cancel`);
  const cancel = await rt.local.request('POST', `/jobs/retry-tasks/${taskId}/cancel`);
  check('the cancel is accepted (200, CANCELLING)', cancel.status === 200 && cancel.body?.status === 'CANCELLING', `${cancel.status} ${cancel.body?.status}`);
  const end = await follow(rt, 1, taskId, samples, (s) => s.status !== 'RUNNING' && s.status !== 'CANCELLING');
  check('the task ends CANCELLED', end.status === 'CANCELLED', `${end.status} ${secs(end.finishedAt - atCancel.at)} after the cancel at ${fmt(atCancel.retried)}`);
  rateCheck([samples.filter((s) => s.status === 'RUNNING')], o.cancelMaxPerSecond);
  await waitForJobsToRun(rt);
  // the reconciler runs every minute: one pass at least between CANCELLED and the last look
  await sleep(Math.max(0, end.finishedAt + 65_000 - Date.now()));
  const [again, c] = [await call(rt, 'GET', `/jobs/retry-tasks/${taskId}`, 200), await census(rt, ids)];
  check('a reconciler pass later, still CANCELLED, its count unchanged', again.status === 'CANCELLED' && again.retried === end.retried, `${fmt(again.retried)} retried`);
  check("then the jobs at generation 1 are the task's retried", c.once === end.retried, `table ${fmt(c.once)}, task ${fmt(end.retried)}`);
  const rest = c.failed === c.untouched && c.once + c.untouched === o.cancelJobs;
  check('and the rest still failed, at generation 0', rest, `failed ${fmt(c.failed)}, generation 0: ${fmt(c.untouched)}`);
  check('the retried ones completed, no generation/attempt run twice', c.completed === end.retried && !c.repeatedRuns, `${fmt(c.completed)}; ${c.repeatedRuns} repeated`);
};

const main = async (): Promise<void> => {
  const argv = process.argv.slice(2);
  if (argv.includes('--help')) return void process.stdout.write(`${usage}\n`);
  const o = readOptions(argv);
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const [began, m, dataDir] = [Date.now(), describeMachine(), tempDataDir()];
  const commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
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
  const failed = checks.filter((c) => !c.pass).length;
  const command = ['npm run bench:task', ...(argv.length ? ['--', ...argv] : [])].join(' ');
  const kept = existsSync(PAGE) ? readFileSync(PAGE, 'utf8').split(KEEP_BELOW)[1] : undefined;
  const page = [
    '# A retry task at scale\n\n<!-- written by `npm run bench:task` (bench/retry-task-scale.ts); the readings are in retry-task-at-scale.json -->\n',
    `What issue 5 asks of a retry task, measured against \`npm start\` with its worker on (the retried ${SEEDED_JOB_NAME} and ${CANCEL_JOB_NAME} jobs run).\n`,
    `**${checks.length - failed} of ${checks.length} checks pass${failed ? `, ${failed} FAIL` : ''}.**${error ? ` Stopped early: \`${error.split('\n')[0]}\`` : ''}\n`,
    `- Command: \`${command}\`, ${new Date(began).toISOString()} at commit \`${commit}\`; the whole run ${secs(Date.now() - began)}`,
    `- Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}; load ${m.loadAtStart} at the start, ${round(loadavg()[0]!)} at the end`,
    `- Sizes: ${fmt(o.jobs)} jobs at maxPerSecond ${o.maxPerSecond}, killed at ${KILL_AT * 100}%; ${fmt(o.cancelJobs)} at ${o.cancelMaxPerSecond}, cancelled at ${CANCEL_AT * 100}%\n`,
    '| check | measured | |\n| --- | --- | --- |',
    ...checks.map((c) => `| ${c.name} | ${c.measured} | **${c.pass ? 'PASS' : 'FAIL'}** |`),
    `\n${KEEP_BELOW}`,
  ];
  writeFileSync(PAGE, `${page.join('\n')}${kept ?? '\n'}`);
  writeFileSync(RAW, `${JSON.stringify({ command, date: new Date(began).toISOString(), commit, options: o, machine: m, checks, series, error })}\n`);
  log(`${checks.length - failed} of ${checks.length} checks pass; ${path.relative(process.cwd(), PAGE)} written`);
  if (failed || error) process.exitCode = 1;
};
// an error outside the run's own try/catch (writing the page) fails the process with its stack, as Node does
void main();
