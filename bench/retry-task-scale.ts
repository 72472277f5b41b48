// `npm run bench:task`: issue 5's retry task at scale against `npm start`, its worker on, through a kill -9 of the
// runtime and a cancel; writes docs/RETRY-TASK-AT-SCALE.md and exits 1 when a check fails.
import { setTimeout as sleep } from 'node:timers/promises';
import { paginateScan } from '@aws-sdk/lib-dynamodb';
import { removeDataDir, ROOT, tempDataDir } from '../local/launcher';
import { startRuntime, TABLE_NAME, waitFor, type BenchRuntime } from './load';
import { runBench, type Values } from './options';
import { commitMeasured, describeMachine, fixed, machineTable, madeBy, table, verdict, writeReport } from './report';
import { failedJob, SEEDED_JOB_NAME, seedJobs } from './seed';

const KNOBS = {
  jobs: { env: 'BENCH_TASK_JOBS', fallback: 100_000, help: 'failed jobs for the task killed mid-way' },
  maxPerSecond: { env: 'BENCH_TASK_MAX_PER_SECOND', fallback: 500, help: "that task's maxPerSecond" },
  cancelJobs: { env: 'BENCH_TASK_CANCEL_JOBS', fallback: 20_000, help: 'failed jobs for the task that is cancelled' },
  cancelMaxPerSecond: { env: 'BENCH_TASK_CANCEL_MAX_PER_SECOND', fallback: 100, help: "the cancelled task's rate" },
};

type Options = Values<typeof KNOBS>;

/** How far each task runs before its kill, or its cancel. */
const AT = { kill: 0.4, cancel: 0.3 };

const PAGE = 'docs/RETRY-TASK-AT-SCALE.md';

/** A second job name with a processor: the cancelled task's name filter is part of what it checks. */
const CANCEL_JOB_NAME = 'demo.sleep';

const log = (message: string) => process.stderr.write(`[task ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

const secs = (ms: number) => `${fixed(ms / 1000, 1)} s`;

let latest: BenchRuntime | undefined;

/** A restart re-sends every unfinished job before it serves: far past the usual 15 s. */
const start = async (dataDir: string) => (latest = await startRuntime({ dataDir, startupBudgetMs: 15 * 60_000 }));

type Sample = { readonly at: number; readonly run: number; readonly status: string; readonly retried: number };

/** Each task's readings, by its id. */
const series: Record<string, Sample[]> = {};

const checks: { name: string; pass: boolean; measured: string }[] = [];

const check = (name: string, pass: boolean, measured: string) => {
  checks.push({ name, pass, measured });
  log(`${verdict(pass)}  ${name}: ${measured}`);
};

/** GET the task about once a second, each reading stamped with the middle of its request, until `stop` accepts one. */
const follow = async (rt: BenchRuntime, run: number, taskId: string, stop: (s: Sample) => boolean) => {
  const samples = (series[taskId] ??= []);
  const read = async () => {
    const before = Date.now();
    const task = await rt.call('GET', `/jobs/retry-tasks/${taskId}`);
    samples.push({ at: Math.round((before + Date.now()) / 2), run, status: task.status, retried: task.retried });
    if (samples.length % 10 === 1) log(`${task.status}: ${fixed(task.retried)} of ${fixed(task.total)} retried`);
    return task;
  };
  const task = await waitFor(read, () => stop(samples.at(-1)!), `task ${taskId} to move on`, 60 * 60_000, 1_000);
  const last = samples.at(-1)!;
  return { ...last, startedAt: task.startedAt as number, finishedAt: (task.finishedAt ?? last.at) as number };
};

/** `count` failed jobs, counted by the stream before the task starts (its total is the counters'); then the task
 * followed until `share` of them are retried. */
const startTask = async (rt: BenchRuntime, count: number, make: typeof failedJob, body: object, share: number) => {
  const began = Date.now();
  const seeded = await seedJobs(rt.seedTarget, count, (i) => make(i, began - count + i));
  const counted = (m: { failed: number }) => m.failed >= count;
  await waitFor(() => rt.call('GET', '/jobs/metrics'), counted, 'the stream to count the seeded jobs', 600_000, 500);
  const task = await rt.call('POST', '/jobs/retry-all-failed', 202, { async: true, ...body });
  const seeding = `seeded in ${secs(Date.now() - began)}, total ${fixed(task.total)}`;
  check(`the task takes exactly the ${fixed(count)} seeded ${make(0, began).name} jobs`, task.total === count, seeding);
  const at = await follow(rt, 1, task.taskId, (s) => s.retried >= share * count || s.status !== 'RUNNING');
  if (at.status !== 'RUNNING') throw new Error(`the task ended ${at.status} at ${fixed(at.retried)} retried`);
  return { ids: seeded.map((job) => job.id), taskId: task.taskId as string, at };
};

// The worst rate from each reading to the first 10 s or more later, per stretch (a shorter one whole): at most the
// limit plus a page at each edge, as the task runner (lambda/core/run-retry-task.ts) retries a page of 100 at once.
const rateCheck = (stretches: readonly (readonly Sample[])[], limit: number) => {
  const windows = stretches.flatMap((s) => {
    const pairs = s.flatMap((a, i) => {
      const b = s.slice(i + 1).find((later) => later.at - a.at >= 10_000);
      return b ? [[a, b]] : [];
    });
    return pairs.length > 0 || s.length < 2 ? pairs : [[s[0]!, s.at(-1)!]];
  });
  const rates = windows.map(([a, b]) => {
    const seconds = (b!.at - a!.at) / 1000;
    return { perSecond: (b!.retried - a!.retried) / seconds, seconds };
  });
  const worst = rates.reduce((a, b) => (b.perSecond > a.perSecond ? b : a), { perSecond: 0, seconds: 10 });
  const pass = rates.length > 0 && worst.perSecond <= limit + (2 * Math.min(100, limit)) / worst.seconds;
  const measured = `worst of ${rates.length}: ${fixed(worst.perSecond, 1)}/s`;
  check(`every 10-s window at most maxPerSecond (${limit}/s) plus a page at each edge`, pass, measured);
};

/** The seeded jobs by generation and state, by a Scan once all ran: listing a pending state is only cheap once the
 * counters show none. */
const census = async (rt: BenchRuntime, ids: readonly string[]) => {
  const idle = (m: Record<string, number>) => !(m.waiting! + m.active! + m.delayed!);
  await waitFor(() => rt.call('GET', '/jobs/metrics'), idle, 'every job to run', 3_600_000, 5_000);
  const page = (state: string) => rt.call('GET', `/jobs?state=${state}&limit=1`);
  const pages = () => Promise.all(['waiting', 'active', 'delayed'].map(page));
  await waitFor(pages, (listed) => listed.every((page) => page.length === 0), 'none listed to run', 600_000, 1_000);
  const items = new Map<string, any>();
  const names = { '#s': 'state' };
  const scan = { TableName: TABLE_NAME, ProjectionExpression: 'id, #s, generation, history' };
  const pagesOfTable = paginateScan({ client: rt.seedTarget.doc }, { ...scan, ExpressionAttributeNames: names });
  for await (const page of pagesOfTable) {
    for (const item of page.Items ?? []) items.set(String(item.id), item);
  }
  const count = (is: (job: any) => boolean) => ids.filter((id) => items.has(id) && is(items.get(id))).length;
  const runs = (job: any): string[] => (job.history ?? []).map((e: any) => `${e.generation}/${e.attempt}`);
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

/** The longest time `retried` stood still while RUNNING in one run, and whether it ever went down. */
const progress = (samples: readonly Sample[]) => {
  const down = samples.some((s, i) => i > 0 && s.retried < samples[i - 1]!.retried);
  let stallMs = 0;
  let since = samples[0]!;
  for (const s of samples) {
    if (s.run !== since.run || s.retried !== since.retried || s.status !== 'RUNNING') since = s;
    else stallMs = Math.max(stallMs, s.at - since.at);
  }
  return { down, stallMs };
};

const killedTask = async (o: Options, dataDir: string, first: BenchRuntime) => {
  const body = { maxPerSecond: o.maxPerSecond };
  const { ids, taskId, at: atKill } = await startTask(first, o.jobs, failedJob, body, AT.kill);
  const samples = series[taskId]!;
  await first.local.kill();
  const killedAt = Date.now();
  const second = await start(dataDir);
  const restart = `ready again ${secs(Date.now() - killedAt)} after the kill at ${fixed(atKill.retried)}`;
  const end = await follow(second, 2, taskId, (s) => s.status !== 'RUNNING');
  const completed = `${end.status}, ${fixed(end.retried)} retried; ${restart}`;
  check('the task completes after the kill -9 and restart', end.status === 'COMPLETED', completed);
  const failedLeft = await second.call('GET', '/jobs?state=failed&limit=1');
  const tasks = await second.call('GET', '/jobs/retry-tasks');
  const listed = `${failedLeft.length} failed, ${tasks.length} task(s)`;
  check('then none listed failed, and one task listed', !failedLeft.length && tasks.length === 1, listed);
  const { down, stallMs } = progress(samples);
  const stall = `longest stall ${secs(stallMs)}${down ? '; DOWN' : ''}`;
  check('progress: retried never goes down, moves on within 30 s while RUNNING', !down && stallMs <= 30_000, stall);
  const lastRunning = samples.filter((s) => s.run === 2 && s.status === 'RUNNING');
  const afterRestart = [...lastRunning, { ...end, at: end.finishedAt }];
  rateCheck([samples.filter((s) => s.run === 1), afterRestart], o.maxPerSecond);
  const runningMs = end.finishedAt - end.startedAt - (afterRestart[0]!.at - atKill.at);
  const mean = end.retried / (runningMs / 1000);
  const overall = `${fixed(mean, 1)}/s over ${secs(runningMs)} RUNNING (the restart left out)`;
  check(`the whole task's rate at most maxPerSecond`, mean <= o.maxPerSecond * 1.01, overall);
  const c = await census(second, ids);
  const generations = `${fixed(c.once)}; lost ${c.lost}; retried twice or more ${o.jobs - c.once - c.lost}`;
  check('every seeded job at generation exactly 1', c.once === o.jobs, generations);
  const retried = `task ${fixed(end.retried)}, table ${fixed(c.once)}`;
  check("the task's retried equals the jobs retried, through the kill", end.retried === c.once, retried);
  const ran = `${fixed(c.completed)}; ${c.repeatedRuns} repeated`;
  check('every seeded job completed, no generation/attempt run twice', c.completed === o.jobs && !c.repeatedRuns, ran);
  return second;
};

const cancelledTask = async (o: Options, rt: BenchRuntime) => {
  const make = (i: number, failedAt: number) => {
    return { ...failedJob(1_000_000_000 + i, failedAt), name: CANCEL_JOB_NAME, data: { ms: 0, n: i } };
  };
  const body = { maxPerSecond: o.cancelMaxPerSecond, name: CANCEL_JOB_NAME };
  const { ids, taskId, at: atCancel } = await startTask(rt, o.cancelJobs, make, body, AT.cancel);
  const cancel = await rt.local.request('POST', `/jobs/retry-tasks/${taskId}/cancel`);
  const accepted = cancel.status === 200 && cancel.body?.status === 'CANCELLING';
  check('the cancel is accepted (200, CANCELLING)', accepted, `${cancel.status} ${cancel.body?.status}`);
  const end = await follow(rt, 1, taskId, (s) => s.status !== 'RUNNING' && s.status !== 'CANCELLING');
  const ended = `${end.status} ${secs(end.finishedAt - atCancel.at)} after the cancel at ${fixed(atCancel.retried)}`;
  check('the task ends CANCELLED', end.status === 'CANCELLED', ended);
  rateCheck([series[taskId]!.filter((s) => s.status === 'RUNNING')], o.cancelMaxPerSecond);
  // the reconciler runs every minute: one pass at least between CANCELLED and the last look
  await sleep(Math.max(0, end.finishedAt + 65_000 - Date.now()));
  const c = await census(rt, ids);
  const again = await rt.call('GET', `/jobs/retry-tasks/${taskId}`);
  const unchanged = again.status === 'CANCELLED' && again.retried === end.retried;
  check('a reconciler pass later, still CANCELLED, its count unchanged', unchanged, `${fixed(again.retried)} retried`);
  const once = `table ${fixed(c.once)}, task ${fixed(end.retried)}`;
  check("then the jobs at generation 1 are the task's retried", c.once === end.retried, once);
  const rest = `failed ${fixed(c.failed)}, generation 0: ${fixed(c.untouched)}`;
  const restFailed = c.failed === c.untouched && c.once + c.untouched === o.cancelJobs;
  check('and the rest still failed, at generation 0', restFailed, rest);
  const ran = `${fixed(c.completed)}; ${c.repeatedRuns} repeated`;
  const completed = c.completed === end.retried && !c.repeatedRuns;
  check('the retried ones completed, no generation/attempt run twice', completed, ran);
};

void runBench('bench:task', KNOBS, async (o, command) => {
  const began = Date.now();
  const date = new Date().toISOString();
  const machine = describeMachine();
  const dataDir = tempDataDir();
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
  const failed = checks.filter((c) => !c.pass).length;
  const page = [
    '# A retry task at scale\n',
    '<!-- written by `npm run bench:task` (bench/retry-task-scale.ts); its readings: retry-task-at-scale.json -->\n',
    'What issue 5 asks of a retry task, measured against `npm start` with its worker on (the retried',
    `${SEEDED_JOB_NAME} and ${CANCEL_JOB_NAME} jobs run). ${madeBy(command, date, (Date.now() - began) / 1000)},`,
    `on the machine below. Sizes: ${fixed(o.jobs)} jobs at maxPerSecond ${o.maxPerSecond}, killed at`,
    `${AT.kill * 100}%; ${fixed(o.cancelJobs)} at ${o.cancelMaxPerSecond}, cancelled at ${AT.cancel * 100}%.\n`,
    `**${checks.length - failed} of ${checks.length} checks pass${failed ? `, ${failed} FAIL` : ''}.**`,
    ...(error ? [`Stopped early: \`${error.split('\n')[0]}\``] : []),
    '',
    ...table([['check', 'measured', ''], ...checks.map((c) => [c.name, c.measured, `**${verdict(c.pass)}**`])]),
    '',
    ...machineTable(machine),
    '',
  ];
  const raw = JSON.stringify({ command, date, commit: commitMeasured(), options: o, machine, checks, series, error });
  writeReport(`${ROOT}/${PAGE}`, page.join('\n'), { keep: true, beside: { 'retry-task-at-scale.json': `${raw}\n` } });
  log(`${checks.length - failed} of ${checks.length} checks pass; ${PAGE} written`);
  if (failed || error) process.exitCode = 1;
});
