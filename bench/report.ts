/**
 * docs/BENCHMARKS.md from one run's figures: the command, the machine, each
 * figure, each ratio against the targets of issue 5 with PASS or FAIL, and
 * the raw figures as JSON. Whatever follows the KEEP_BELOW marker in an
 * existing report (the analysis, written by hand) is kept as it is.
 */
import { cpus, loadavg, release, totalmem, type as osType } from 'node:os';
import type { BundleReport } from './bundles';
import { formatProfiles, type PhaseProfile } from './cpu-profile';
import { FLOOR_ITEMS, FLOOR_WARM_UP, type Floor } from './floor';
import type { Latency } from './load';
import type { OwnWrites } from './own-writes';
import type { Phase } from './phases';
import type { BenchOptions } from './options';

export const KEEP_BELOW = '<!-- written by hand below this line; npm run bench keeps it -->';
export const RAW_FIGURES = '## Raw figures';

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly os: string;
  /** 1-minute load average when the run began and ended: was anything else busy? */
  readonly loadAtStart: number;
  loadAtEnd?: number;
}

export const describeMachine = (): Machine => ({
  cpu: cpus()[0]?.model.trim() ?? 'unknown',
  cores: cpus().length,
  memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
  node: process.version,
  os: `${osType()} ${release()}`,
  loadAtStart: Math.round(loadavg()[0]! * 100) / 100,
});

export interface Rate {
  readonly jobs: number;
  readonly ms: number;
  readonly perSecond: number;
}

export interface RetryAllFigures extends Rate {
  /** A background task (202) or at once (200). */
  readonly mode: 'task' | 'sync';
  readonly total: number;
  readonly failed: number;
  /** From the request until every retried job had completed. */
  readonly allCompletedMs: number;
  /** From the request until the dead-letter queue was empty (stale copies swept). */
  readonly deadLettersSweptMs: number;
}

export interface Seeding {
  readonly jobs: number;
  readonly failed: number;
  readonly completed: number;
  readonly ms: number;
  readonly recountMs: number;
}

export interface LatencyPair {
  readonly metrics: Latency;
  readonly failedPage: Latency;
  /** Jobs in the table (metrics' total) while measured. */
  readonly jobs: number;
  /** How long the runtime took to fall idle first (LevelDB compacting after a bulk load). */
  readonly settledMs: number;
}

export interface BenchResults {
  readonly command: string;
  /** The commit measured, and the files under lambda/ and local/ that differed from it (the runtime bundles the working tree). */
  readonly code: { readonly commit: string; readonly uncommitted: readonly string[] };
  readonly date: string;
  readonly durationS: number;
  readonly machine: Machine;
  readonly options: Omit<BenchOptions, 'out' | 'cpuProf'>;
  readonly runtime: { readonly startupMs: number; readonly workerConcurrency: string };
  /** The floor on each kind of item, as measured at the start, before the retries, at the end, on the full table, and on the paused runtime. */
  readonly floors: readonly Floor[];
  /**
   * The fastest floor on failed-job items: every ratio and target is against it, so that a floor slowed by a cold
   * start or a busy moment flatters nothing.
   */
  readonly floor: Floor;
  /** The fastest floor on small items with no index entry: what the request alone costs, for comparison. */
  readonly smallItemFloor: Floor;
  readonly enqueue: Rate;
  readonly endToEnd: Rate;
  readonly seedingForRetries: Seeding;
  readonly singleRetries: Rate;
  readonly retryAll: RetryAllFigures;
  /**
   * Retry-all on a second runtime whose worker is paused (REQUEUE_WORKER_CONCURRENCY=0): nothing
   * runs beside the task but what runs beside the floor. The target's figure.
   */
  readonly retryAllPaused: Omit<RetryAllFigures, 'allCompletedMs' | 'deadLettersSweptMs'>;
  readonly seedingForPaused: Seeding;
  /** On the paused runtime, after its retry-all: the writes of a retry and of a job, each sent alone from the bench. */
  readonly ownWrites: { readonly retry: OwnWrites; readonly job: OwnWrites };
  readonly seedingForLatency: Seeding;
  readonly latencyEmpty: LatencyPair;
  /** With one full page of failed jobs in the table: the page's own cost, on a small table. */
  readonly latencyOnePage: LatencyPair;
  readonly latencyFull: LatencyPair;
  readonly bundles: BundleReport;
  /** The timed stretches of the run, on the monotonic clock. */
  readonly phases: readonly Phase[];
  /** With --cpu-prof: where the runtime's time went in each. */
  readonly profile?: readonly PhaseProfile[];
}

export interface Target {
  readonly name: string;
  readonly target: string;
  readonly measured: string;
  readonly ratio: number;
  readonly pass: boolean;
}

const fixed = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const rate = (r: { perSecond: number }) => `${fixed(r.perSecond)}/s`;
const seconds = (ms: number) => `${fixed(ms / 1000, 2)} s`;
const pct = (ratio: number) => `${fixed(ratio * 100, 1)}%`;

export const evaluateTargets = (r: BenchResults): Target[] => {
  const floor = r.floor.perSecond;
  const retryAllShare = r.retryAllPaused.perSecond / floor;
  const endToEndShare = r.endToEnd.perSecond / floor;
  const loopSlower = r.retryAll.perSecond / r.singleRetries.perSecond;
  const metrics = r.latencyFull.metrics.medianMs / r.latencyEmpty.metrics.medianMs;
  const page = r.latencyFull.failedPage.medianMs / r.latencyEmpty.failedPage.medianMs;
  return [
    {
      name: `retry-all of ${fixed(r.retryAllPaused.jobs)} failed jobs (the worker paused, as for the floor) vs the floor`,
      target: '≥ 70% of the floor',
      measured: `${rate(r.retryAllPaused)} / ${rate(r.floor)} = ${pct(retryAllShare)}`,
      ratio: retryAllShare,
      pass: retryAllShare >= 0.7,
    },
    {
      name: 'end-to-end (enqueue → completed) vs the floor',
      target: '≥ 30% of the floor',
      measured: `${rate(r.endToEnd)} / ${rate(r.floor)} = ${pct(endToEndShare)}`,
      ratio: endToEndShare,
      pass: endToEndShare >= 0.3,
    },
    {
      name: 'loop of single retries vs retry-all',
      target: 'loop ≥ 3× slower',
      measured: `${rate(r.retryAll)} / ${rate(r.singleRetries)} = ${fixed(loopSlower, 2)}×`,
      ratio: loopSlower,
      pass: loopSlower >= 3,
    },
    {
      name: `GET /jobs/metrics at ${fixed(r.latencyFull.jobs)} jobs vs at ${fixed(r.latencyEmpty.jobs)}`,
      target: '≤ 1.5×',
      measured: `${r.latencyFull.metrics.medianMs} ms / ${r.latencyEmpty.metrics.medianMs} ms = ${fixed(metrics, 2)}×`,
      ratio: metrics,
      pass: metrics <= 1.5,
    },
    {
      name: `GET /jobs/failed?limit=50 at ${fixed(r.latencyFull.jobs)} jobs vs at ${fixed(r.latencyEmpty.jobs)}`,
      target: '≤ 1.5×',
      measured: `${r.latencyFull.failedPage.medianMs} ms / ${r.latencyEmpty.failedPage.medianMs} ms = ${fixed(page, 2)}×`,
      ratio: page,
      pass: page <= 1.5,
    },
  ];
};

const table = (rows: readonly (readonly string[])[]): string[] => [
  `| ${rows[0]!.join(' | ')} |`,
  `|${rows[0]!.map(() => '---').join('|')}|`,
  ...rows.slice(1).map((row) => `| ${row.join(' | ')} |`),
];

const latencyRow = (what: string, l: Latency) => [what, `${l.medianMs} ms`, `${l.p90Ms} ms`, `${l.minMs}–${l.maxMs} ms`];

const seedingRow = (what: string, s: Seeding) => [
  what,
  fixed(s.failed),
  fixed(s.completed),
  seconds(s.ms),
  `${fixed((s.jobs * 1000) / Math.max(1, s.ms))}/s`,
  seconds(s.recountMs),
];

const kib = (bytes: number) => `${fixed(bytes / 1024, 1)} KiB`;

export const formatReport = (r: BenchResults, kept?: string): string => {
  const targets = evaluateTargets(r);
  const passed = targets.filter((t) => t.pass).length;
  const m = r.machine;
  const o = r.options;
  const lines = [
    '# Benchmarks',
    '',
    `Made by \`${r.command}\` on ${r.date} (${fixed(r.durationS)} s), at commit \`${r.code.commit.slice(0, 10)}\`${
      r.code.uncommitted.length > 0 ? ` with uncommitted changes to ${r.code.uncommitted.map((f) => `\`${f}\``).join(', ')}` : ''
    }. Every rate is measured in that one run, on`,
    'one machine, against the local runtime (`npm start`: dynalite, fauxqs, the API Gateway and SQS event-source',
    'emulations and every handler in one Node.js process) and compared with a floor measured in the same run.',
    'The figures are of this machine and this runtime, not of AWS; the ratios are what the targets of issue 5 ask.',
    '',
    '## Machine',
    '',
    ...table([
      ['cpu', 'cores', 'memory', 'node', 'os', 'load average (1 min) at start → end'],
      [m.cpu, String(m.cores), `${m.memoryGiB} GiB`, m.node, m.os, `${m.loadAtStart} → ${m.loadAtEnd ?? '?'}`],
    ]),
    '',
    `The bench (the client side of every load) runs in its own process beside the runtime. Concurrency C = ${o.concurrency}`,
    `for every client-side load, the floor's included. Worker pollers: ${r.runtime.workerConcurrency}. Runtime ready in ${fixed(r.runtime.startupMs)} ms.`,
    '',
    `## Targets: ${passed} of ${targets.length} pass`,
    '',
    ...table([
      ['what', 'target', 'measured', 'result'],
      ...targets.map((t) => [t.name, t.target, t.measured, t.pass ? '**PASS**' : '**FAIL**']),
    ]),
    '',
    `Against the floor on small items with no index entry (${rate(r.smallItemFloor)}, the request alone), the same rates are: retry-all`,
    `${pct(r.retryAllPaused.perSecond / r.smallItemFloor.perSecond)}, end-to-end ${pct(r.endToEnd.perSecond / r.smallItemFloor.perSecond)}. The floor is on failed-job items: a retry is one conditional UpdateItem of such an item, and`,
    "dynalite's cost of writing a job and its two index entries is part of any job operation, not something requeue adds.",
    '',
    'What the table allows each operation before requeue adds anything to it, each sent alone from the bench at C =',
    `${o.concurrency} (on the paused runtime, after its retry-all; \`bench/own-writes.ts\`):`,
    '',
    ...table([
      ['the writes alone', 'rate', 'vs floor', 'requeue\'s operation', 'vs the writes alone'],
      [
        "a retry's write: the conditional UpdateItem of a failed job that `claimRetry` makes (state, generation, retry history; its byState entry moved, its failedByName entry deleted)",
        rate(r.ownWrites.retry),
        pct(r.ownWrites.retry.perSecond / r.floor.perSecond),
        `retry-all, the worker paused: ${rate(r.retryAllPaused)}`,
        pct(r.retryAllPaused.perSecond / r.ownWrites.retry.perSecond),
      ],
      [
        "a job's three writes, one after the other: its conditional PutItem, the worker's claim, its completion",
        `${rate(r.ownWrites.job)} (jobs)`,
        pct(r.ownWrites.job.perSecond / r.floor.perSecond),
        `end-to-end: ${rate(r.endToEnd)}`,
        pct(r.endToEnd.perSecond / r.ownWrites.job.perSecond),
      ],
    ]),
    '',
    ...(kept?.trim() ? ['Where the time goes and what would fix each failing target: the analysis at the end, after the raw figures.', ''] : []),
    '## Figures',
    '',
    ...table([
      ['figure', 'jobs / calls', 'time', 'rate', 'vs floor'],
      ...r.floors.map((f) => [
        `${f === r.floor ? '**floor**' : 'floor'} ${f.when}: conditional UpdateItem (\`SET #n = :v\`, \`attribute_exists(pk)\`) on ${FLOOR_ITEMS[f.items]}, C = ${f.concurrency}`,
        fixed(f.updates),
        seconds(f.ms),
        f === r.floor ? `**${rate(f)}**` : rate(f),
        pct(f.perSecond / r.floor.perSecond),
      ]),
      ['enqueue: `POST /jobs` (`demo.echo`), C = ' + o.concurrency, fixed(r.enqueue.jobs), seconds(r.enqueue.ms), rate(r.enqueue), pct(r.enqueue.perSecond / r.floor.perSecond)],
      ['end-to-end: first enqueue → all completed (no job left to run in the table)', fixed(r.endToEnd.jobs), seconds(r.endToEnd.ms), rate(r.endToEnd), pct(r.endToEnd.perSecond / r.floor.perSecond)],
      [
        `retry-all, the worker paused (second runtime): \`POST /jobs/retry-all-failed\` → ${r.retryAllPaused.mode === 'task' ? 'task COMPLETED' : '200'}`,
        fixed(r.retryAllPaused.jobs),
        seconds(r.retryAllPaused.ms),
        rate(r.retryAllPaused),
        pct(r.retryAllPaused.perSecond / r.floor.perSecond),
      ],
      [
        `retry-all, the worker running the retried jobs beside it: \`POST /jobs/retry-all-failed\` → ${r.retryAll.mode === 'task' ? 'task COMPLETED' : '200'}`,
        fixed(r.retryAll.jobs),
        seconds(r.retryAll.ms),
        rate(r.retryAll),
        pct(r.retryAll.perSecond / r.floor.perSecond),
      ],
      [
        `a retry's write alone, from the bench (paused runtime), C = ${r.ownWrites.retry.concurrency}`,
        fixed(r.ownWrites.retry.jobs),
        seconds(r.ownWrites.retry.ms),
        rate(r.ownWrites.retry),
        pct(r.ownWrites.retry.perSecond / r.floor.perSecond),
      ],
      [
        `a job's three writes alone, from the bench (paused runtime), C = ${r.ownWrites.job.concurrency}`,
        fixed(r.ownWrites.job.jobs),
        seconds(r.ownWrites.job.ms),
        rate(r.ownWrites.job),
        pct(r.ownWrites.job.perSecond / r.floor.perSecond),
      ],
      [
        'single retries: `POST /jobs/retry/{id}`, C = ' + o.concurrency,
        fixed(r.singleRetries.jobs),
        seconds(r.singleRetries.ms),
        rate(r.singleRetries),
        pct(r.singleRetries.perSecond / r.floor.perSecond),
      ],
    ]),
    '',
    `The floor was measured ${r.floors.length / 2} times on each kind of item (each after ${fixed(FLOOR_WARM_UP)} untimed updates); every ratio is against the`,
    'fastest on failed-job items, in bold, so that a floor slowed by a cold start or by other work on the machine flatters',
    "no figure. Its items are 1,000 failed jobs as retry-all finds them (the seeded jobs' own items, with both index",
    'entries, in index partitions no listing reads); the small items are a key and a number. The floor\'s updates go',
    "through the handlers' own document layer on an SDK client with cached middleware: its client costs no more a",
    'request than theirs.',
    '',
    `Retry-all ran as ${r.retryAll.mode === 'task' ? `a background task (202, then \`GET /jobs/retry-tasks/{taskId}\` polled every 100 ms until COMPLETED)` : 'one request (200)'}:`,
    `${fixed(r.retryAll.jobs)} retried, ${fixed(r.retryAll.failed)} not, of ${fixed(r.retryAll.total)}. The worker ran the retried jobs meanwhile, in the same process;`,
    `every one had completed ${seconds(r.retryAll.allCompletedMs)} after the request, and the stale dead-letter copies were swept by ${seconds(r.retryAll.deadLettersSweptMs)}.`,
    'End-to-end runs until the table holds no waiting, active or delayed job, asked every 100 ms after the last enqueue',
    "answered with one-item queries of the byState index, as are the other \"all completed\" times: the counters behind",
    '`GET /jobs/metrics` can be off for a while after a recount that ran while jobs moved.',
    '',
    `Retry-all with the worker paused: a second runtime, started with \`REQUEUE_WORKER_CONCURRENCY=0\` on a fresh data folder after`,
    'the first one stopped; warmed up as the first one was by its later floors (an untimed floor, an untimed retry-all of a',
    'tenth as many jobs), the floor measured once more on its dynalite, then as many failed jobs seeded and retried with',
    'one retry-all. Nothing runs beside the task but the API and the emulators, as nothing runs beside the floor: the',
    "target's figure. The retried jobs wait in that runtime's queue, unrun (on AWS: the event source mapping disabled).",
    '',
    '### CPU per phase',
    '',
    'The runtime is one Node.js process: the handlers and the API Gateway and event-source emulations share its main',
    'thread; dynalite and fauxqs have a worker thread each (`local/emulators.ts`), LevelDB a few more. Its CPU counts',
    'every thread, so it can pass 100% of a core; the main thread alone cannot (`--cpu-prof` shows each thread apart).',
    `"Others" is every other process on the machine: work not ours competing for its ${m.cores} cores.`,
    '',
    ...table([
      ['phase', 'wall', 'runtime process CPU', 'bench process CPU', 'others'],
      ...r.phases.map((p) => {
        const wall = (p.endUs - p.startUs) / 1000;
        const share = (ms: number | undefined) => (ms === undefined ? '?' : `${seconds(ms)} (${fixed((ms / wall) * 100)}% of a core)`);
        return [p.name, seconds(wall), share(p.runtimeCpuMs), share(p.benchCpuMs), share(p.othersCpuMs)];
      }),
    ]),
    '',
    '### Metrics and one page of failed jobs, empty and full',
    '',
    `Median of ${o.samples} calls one after another (after 5 untimed), client-side, each set once the runtime's process had`,
    `fallen idle (below 10% of a core for 1 s): after loading ${fixed(r.seedingForLatency.jobs)} jobs, LevelDB compacted for ${seconds(r.latencyFull.settledMs)} on`,
    'threads of its own first, and a latency measured meanwhile would be the compaction\'s, not the table\'s.',
    '',
    ...table([
      ['call', 'median', 'p90', 'min–max'],
      latencyRow(`\`GET /jobs/metrics\`, ${fixed(r.latencyEmpty.jobs)} jobs`, r.latencyEmpty.metrics),
      latencyRow(`\`GET /jobs/metrics\`, ${fixed(r.latencyOnePage.jobs)} failed jobs`, r.latencyOnePage.metrics),
      latencyRow(`\`GET /jobs/metrics\`, ${fixed(r.latencyFull.jobs)} jobs`, r.latencyFull.metrics),
      latencyRow(`\`GET /jobs/failed?limit=50\`, ${fixed(r.latencyEmpty.jobs)} jobs (an empty page)`, r.latencyEmpty.failedPage),
      latencyRow(`\`GET /jobs/failed?limit=50\`, ${fixed(r.latencyOnePage.jobs)} failed jobs (a full page)`, r.latencyOnePage.failedPage),
      latencyRow(`\`GET /jobs/failed?limit=50\`, ${fixed(r.latencyFull.jobs)} jobs (a full page)`, r.latencyFull.failedPage),
    ]),
    '',
    'At 0 jobs the page is an empty array; the target compares it with a full page of 50 jobs. The middle rows,',
    `with just one page of failed jobs in the table, tell what the 50 jobs of a page cost from what the table's size costs:`,
    `a full page at ${fixed(r.latencyFull.jobs)} jobs takes ${fixed(r.latencyFull.failedPage.medianMs / r.latencyOnePage.failedPage.medianMs, 2)}× a full page at ${fixed(r.latencyOnePage.jobs)};`,
    `metrics, ${fixed(r.latencyFull.metrics.medianMs / r.latencyOnePage.metrics.medianMs, 2)}×.`,
    '',
    '### Seeding',
    '',
    'Jobs written straight into the table with BatchWriteItem (25 a call, C calls in flight), each built by the core',
    "transitions and the adapter's `toItem` exactly as the worker would have left it (`demo.echo`, 3 attempts;",
    'failed ones with their error, stack and history), failed ones with their dead-letter copy (SendMessageBatch);',
    'then `DynamoDbJobStore.recount()` to set the counters. Not timed as part of any figure above.',
    '',
    ...table([
      ['for', 'failed', 'completed', 'write time', 'items/s', 'recount'],
      seedingRow('the retries', r.seedingForRetries),
      seedingRow('retry-all on the paused runtime', r.seedingForPaused),
      seedingRow('the full table', r.seedingForLatency),
    ]),
    '',
    '## Bundles',
    '',
    `From \`bench/bundles.ts\` (also \`npm run bench:bundles\`): each function bundled as the stack bundles it, then`,
    `\`require()\`d in a fresh Node.js ${r.bundles.node} process with \`--enable-source-maps\`, median of ${r.bundles.runs}; run after the runtime stopped.`,
    '',
    ...table([
      ['handler', 'index.js', 'gzipped', 'source map', 'cold import (median)', 'min–max', 'over a bare handler'],
      ['(bare handler)', '', '', '', `${r.bundles.bare.medianMs} ms`, `${r.bundles.bare.minMs}–${r.bundles.bare.maxMs} ms`, ''],
      ...r.bundles.handlers.map((h) => [
        h.handler,
        kib(h.bytes),
        kib(h.gzipBytes),
        kib(h.sourceMapBytes),
        `${h.coldImport.medianMs} ms`,
        `${h.coldImport.minMs}–${h.coldImport.maxMs} ms`,
        `+${h.overBareMs} ms`,
      ]),
    ]),
    '',
    ...(r.profile
      ? [
          "## Where the runtime's time went",
          '',
          'This run profiled the runtimes (`--cpu-prof`), which slows it: its rates are not the reference figures.',
          "Samples of each thread of the runtimes (the first, then the paused one), summed per phase.",
          '',
          ...formatProfiles(r.profile),
        ]
      : []),
    '## Sizes',
    '',
    'Every size is a flag or an environment variable of `npm run bench` (`npm run bench -- --help` lists them);',
    'this run used:',
    '',
    ...table([['knob', 'value'], ...Object.entries(o).map(([k, v]) => [k, fixed(v)])]),
    '',
    RAW_FIGURES,
    '',
    '```json',
    JSON.stringify({ ...r, targets }, null, 2),
    '```',
    '',
    KEEP_BELOW,
  ];
  return `${lines.join('\n')}\n${kept ?? ''}`;
};

/** The hand-written part of an existing report, after the marker. */
export const keptPart = (existing: string | undefined): string | undefined => {
  if (!existing) return undefined;
  const at = existing.indexOf(KEEP_BELOW);
  return at < 0 ? undefined : existing.slice(at + KEEP_BELOW.length).replace(/^\n/, '');
};
