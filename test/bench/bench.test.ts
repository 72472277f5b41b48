import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT } from '../support/build';
import { KEEP_BELOW, RAW_FIGURES } from '../../bench/report';

// `npm run bench` end to end, tiny: it must run through and write a
// well-formed report. The figures of so small a run mean nothing; no timing is checked.

const TINY = {
  jobs: 20,
  'single-retries': 20,
  'retry-all': 100,
  'seed-total': 200,
  'seed-failed': 100,
  samples: 5,
  'floor-updates': 200,
  'bundle-runs': 1,
};

let dir: string;
let report: string;
let output = '';
let exitCode: number | null;
let child: ChildProcess | undefined;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'requeue-bench-'));
  const out = path.join(dir, 'BENCHMARKS.md');
  // a hand-written part of an earlier report is kept
  writeFileSync(out, `# old figures\n\n${KEEP_BELOW}\n## Analysis\n\nwritten by hand\n`);
  const flags = Object.entries(TINY).map(([flag, value]) => `--${flag}=${value}`);
  // profiled, so that path is proven too
  child = spawn('npm', ['run', 'bench', '--', ...flags, `--out=${out}`, `--cpu-prof=${path.join(dir, 'profile')}`], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // a group of its own, for afterAll to signal
    env: { ...process.env, BENCH_JOBS: '100000' }, // a flag wins over its variable
  });
  const bench = child;
  bench.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  bench.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  exitCode = await new Promise<number | null>((resolve) => bench.once('exit', resolve));
  report = readFileSync(out, 'utf8');
}, 120_000);

afterAll(async () => {
  // still running when beforeAll gave up: the bench stops its runtime on SIGTERM
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    process.kill(-child.pid!, 'SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

const rawFigures = () => {
  const json = /```json\n([\s\S]*?)\n```/.exec(report.slice(report.indexOf(RAW_FIGURES)));
  expect(json).not.toBeNull();
  return JSON.parse(json![1]!);
};

it('runs through and says which targets pass', () => {
  expect({ exitCode, output: exitCode === 0 ? '' : output }).toEqual({ exitCode: 0, output: '' });
  expect(output.match(/^\[bench [\d:]+\] (PASS|FAIL) /gm)).toHaveLength(5);
});

it('writes the command, the machine, a row per target and every section', () => {
  expect(report).toMatch(/^# Benchmarks\n/);
  expect(report).toContain('Made by `npm run bench -- --jobs=20 ');
  for (const heading of ['## Machine', '## Targets:', '## Figures', '### Metrics and one page of failed jobs', '### Seeding', '## Bundles', RAW_FIGURES]) {
    expect(report).toContain(`\n${heading}`);
  }
  const targetRows = report.split('\n').filter((line) => /^\| .* \| \*\*(PASS|FAIL)\*\* \|$/.test(line));
  expect(targetRows).toHaveLength(5);
  expect(report).toMatch(new RegExp(`\\| ${process.version} \\|`));
});

it("says where the runtime's time went, with the calls it served per job", () => {
  const r = rawFigures();
  expect(report).toContain("\n## Where the runtime's time went\n");
  const retryAll = r.profile.find((p: { name: string }) => p.name === 'retry-all (request → task COMPLETED)');
  const owners = (thread: { byOwner: { owner: string }[] }) => thread.byOwner.map((o) => o.owner);
  const [main, ...workers] = retryAll.threads;
  expect(main).toMatchObject({ thread: 'main', busyMs: expect.any(Number) });
  expect(owners(main)).toContain('AWS SDK');
  // dynalite, wherever it runs
  expect(retryAll.threads.flatMap(owners)).toContain('dynalite');
  expect(workers.every((t: { thread: string }) => /^thread\d+$/.test(t.thread))).toBe(true);
  expect(retryAll.calls).toEqual(expect.arrayContaining([{ call: 'HTTP POST /jobs/retry-all-failed', count: 1 }]));
  const enqueue = r.profile.find((p: { name: string }) => p.name === 'enqueue (the worker running beside it)');
  expect(enqueue.calls).toEqual(expect.arrayContaining([{ call: 'HTTP POST /jobs', count: 20 }]));
  expect(enqueue.calls.map((c: { call: string }) => c.call)).toContain('DynamoDB PutItem');
});

it('keeps the hand-written part of the report it replaces', () => {
  expect(report).not.toContain('# old figures');
  expect(report.endsWith(`${KEEP_BELOW}\n## Analysis\n\nwritten by hand\n`)).toBe(true);
});

it('records figures that add up for the sizes asked', () => {
  const r = rawFigures();
  expect(r.options).toMatchObject({ jobs: 20, singleRetries: 20, retryAll: 100, seedTotal: 200, seedFailed: 100, concurrency: 16 });
  // at the start, before the retries, at the end and on the paused runtime, on each kind of item
  expect(r.floors.map((f: { items: string }) => f.items).sort()).toEqual([...Array(4).fill('job'), ...Array(4).fill('small')]);
  const fastest = (items: string) =>
    Math.max(...r.floors.filter((f: { items: string }) => f.items === items).map((f: { perSecond: number }) => f.perSecond));
  expect(r.floor).toMatchObject({ items: 'job', perSecond: fastest('job') });
  expect(r.smallItemFloor).toMatchObject({ items: 'small', perSecond: fastest('small') });
  // the writes alone: every seeded failed job retried by its write, every job created, claimed and completed by its three
  expect(r.ownWrites.retry).toMatchObject({ jobs: 100, writes: 100, concurrency: 16 });
  expect(r.ownWrites.job).toMatchObject({ jobs: 20, writes: 60, concurrency: 16 });
  expect(report).toContain('| the writes alone | rate | vs floor |');
  for (const rate of [...r.floors, r.enqueue, r.endToEnd, r.singleRetries, r.retryAll, r.ownWrites.retry, r.ownWrites.job]) {
    expect(rate.perSecond).toBeGreaterThan(0);
    expect(Number.isFinite(rate.perSecond)).toBe(true);
  }
  expect(r.enqueue.jobs).toBe(20);
  expect(r.singleRetries.jobs).toBe(20);
  expect(r.retryAll).toMatchObject({ jobs: 100, total: 100, failed: 0, mode: 'sync' });
  expect(r.retryAllPaused).toMatchObject({ jobs: 100, total: 100, failed: 0, mode: 'sync' });
  expect(r.seedingForPaused).toMatchObject({ failed: 100, completed: 0 });
  expect(r.seedingForRetries).toMatchObject({ failed: 120, completed: 0 });
  // 190 jobs already there when the table is filled (a page's 50, 20 enqueued, 120 retried): 100 failed more, no completed ones needed
  expect(r.seedingForLatency).toMatchObject({ failed: 100, completed: 0 });
  expect(r.latencyEmpty.jobs).toBe(0);
  expect(r.latencyOnePage.jobs).toBe(50);
  expect(r.latencyFull.jobs).toBe(290);
  for (const pair of [r.latencyEmpty, r.latencyOnePage, r.latencyFull]) {
    expect(pair.metrics.samples).toBe(5);
    expect(pair.failedPage.samples).toBe(5);
  }
  expect(r.targets).toHaveLength(5);
  expect(r.code.commit).toMatch(/^[0-9a-f]{40}$/);
  expect(r.phases.map((p: { name: string }) => p.name)).toEqual(
    expect.arrayContaining(['end-to-end (first enqueue → all completed)', 'retry-all (request → task COMPLETED)']),
  );
  expect(r.bundles.handlers.map((h: { handler: string }) => h.handler)).toEqual(
    expect.arrayContaining(['enqueue-job', 'worker', 'retry-task-runner', 'reconcile']),
  );
});
