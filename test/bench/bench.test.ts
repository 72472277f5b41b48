import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT } from '../support/build';
import { KEEP_BELOW } from '../../bench/report';

// `npm run bench` end to end, tiny: it must run through and write a
// well-formed report. The figures of so small a run mean nothing; no timing is checked.

const TINY = {
  jobs: 20,
  'single-retries': 20,
  'retry-all': 100,
  'seed-total': 200,
  'seed-failed': 100,
  samples: 5,
  'bundle-runs': 1,
};

let dir: string;
let report: string;
let chart: string;
let output = '';
let exitCode: number | null;
let child: ChildProcess | undefined;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'requeue-bench-'));
  const out = path.join(dir, 'BENCHMARKS.md');
  // a hand-written part of an earlier report is kept
  writeFileSync(out, `# old figures\n\n${KEEP_BELOW}\n## Analysis\n\nwritten by hand\n`);
  const flags = Object.entries(TINY).map(([flag, value]) => `--${flag}=${value}`);
  child = spawn('npm', ['run', 'bench', '--', ...flags, `--out=${out}`], {
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
  chart = readFileSync(path.join(dir, 'benchmarks.svg'), 'utf8');
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

const rawFigures = () => JSON.parse(readFileSync(path.join(dir, 'benchmarks.json'), 'utf8'));

it('runs through and says which targets pass', () => {
  expect({ exitCode, output: exitCode === 0 ? '' : output }).toEqual({ exitCode: 0, output: '' });
  expect(output.match(/^\[bench [\d:]+\] (PASS|FAIL) /gm)).toHaveLength(5);
});

it('writes the command, the machine, a row per target and every section', () => {
  expect(report).toMatch(/^# Benchmarks\n/);
  expect(report).toContain('Made by `npm run bench -- --jobs=20 ');
  for (const heading of ['## Targets:', '## Figures', '## Bundles', '## Machine']) {
    expect(report).toContain(`\n${heading}`);
  }
  const targetRows = report.split('\n').filter((line) => /^\| .* \| \*\*(PASS|FAIL)\*\* \|$/.test(line));
  expect(targetRows).toHaveLength(5);
  expect(report).toMatch(new RegExp(`\\| ${process.version} \\|`));
  expect(report.split(KEEP_BELOW)[0]!.split('\n').length).toBeLessThan(150);
});

it('draws a bar and a threshold line for each target, beside the page', () => {
  expect(report).toContain('](benchmarks.svg)');
  expect(chart).toMatch(/^<svg /);
  expect(chart.match(/<rect x=/g)).toHaveLength(5);
  expect(chart.match(/<line /g)).toHaveLength(5);
});

it('keeps the hand-written part of the report it replaces', () => {
  expect(report).not.toContain('# old figures');
  expect(report.endsWith(`${KEEP_BELOW}\n## Analysis\n\nwritten by hand\n`)).toBe(true);
});

it('records figures that add up for the sizes asked', () => {
  const r = rawFigures();
  expect(r.options).toMatchObject({ jobs: 20, singleRetries: 20, retryAll: 100, seedTotal: 200, seedFailed: 100, concurrency: 16 });
  // the writes alone: every seeded failed job retried by its write, every job created, claimed and completed by its three
  expect(r.ownWrites.retry).toMatchObject({ jobs: 100, writes: 100, concurrency: 16 });
  expect(r.ownWrites.job).toMatchObject({ jobs: 20, writes: 60, concurrency: 16 });
  expect(report).toContain("| a retry's write alone: ");
  for (const rate of [r.enqueue, r.endToEnd, r.singleRetries, r.retryAll, r.ownWrites.retry, r.ownWrites.job]) {
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
  expect(r.bundles.handlers.map((h: { handler: string }) => h.handler)).toEqual(
    expect.arrayContaining(['enqueue-job', 'worker', 'retry-task-runner', 'reconcile']),
  );
});
