import { spawn } from 'node:child_process';
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

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'requeue-bench-'));
  const out = path.join(dir, 'BENCHMARKS.md');
  // a hand-written part of an earlier report is kept
  writeFileSync(out, `# old figures\n\n${KEEP_BELOW}\n## Analysis\n\nwritten by hand\n`);
  const flags = Object.entries(TINY).map(([flag, value]) => `--${flag}=${value}`);
  const child = spawn('npm', ['run', 'bench', '--', ...flags, `--out=${out}`], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BENCH_JOBS: '100000' }, // a flag wins over its variable
  });
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  exitCode = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  report = readFileSync(out, 'utf8');
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

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

it('keeps the hand-written part of the report it replaces', () => {
  expect(report).not.toContain('# old figures');
  expect(report.endsWith(`${KEEP_BELOW}\n## Analysis\n\nwritten by hand\n`)).toBe(true);
});

it('records figures that add up for the sizes asked', () => {
  const r = rawFigures();
  expect(r.options).toMatchObject({ jobs: 20, singleRetries: 20, retryAll: 100, seedTotal: 200, seedFailed: 100, concurrency: 16 });
  for (const rate of [r.floor, r.floorAtEnd, r.enqueue, r.endToEnd, r.singleRetries, r.retryAll]) {
    expect(rate.perSecond).toBeGreaterThan(0);
    expect(Number.isFinite(rate.perSecond)).toBe(true);
  }
  expect(r.enqueue.jobs).toBe(20);
  expect(r.singleRetries.jobs).toBe(20);
  expect(r.retryAll).toMatchObject({ jobs: 100, total: 100, failed: 0, mode: 'sync' });
  expect(r.seedingForRetries).toMatchObject({ failed: 120, completed: 0 });
  // 140 jobs already there when the table is filled: 100 failed more, and no completed ones needed
  expect(r.seedingForLatency).toMatchObject({ failed: 100, completed: 0 });
  expect(r.latencyEmpty.jobs).toBe(0);
  expect(r.latencyFull.jobs).toBe(240);
  for (const pair of [r.latencyEmpty, r.latencyFull]) {
    expect(pair.metrics.samples).toBe(5);
    expect(pair.failedPage.samples).toBe(5);
  }
  expect(r.targets).toHaveLength(5);
  expect(r.bundles.handlers.map((h: { handler: string }) => h.handler)).toEqual(
    expect.arrayContaining(['enqueue-job', 'worker', 'retry-task-runner', 'reconcile']),
  );
});
