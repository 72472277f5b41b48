/**
 * The sizes of `npm run bench`, each from a CLI flag (`--jobs=5000` or
 * `--jobs 5000`), else an environment variable (`BENCH_JOBS=5000`), else the
 * full-size default that docs/BENCHMARKS.md is made with.
 */
import path from 'node:path';

export interface BenchOptions {
  /** Client-side requests in flight at once, for every load the bench makes (the floor's too). */
  readonly concurrency: number;
  /** Conditional UpdateItems timed for the floor. */
  readonly floorUpdates: number;
  /** Jobs enqueued for the enqueue and end-to-end rates. */
  readonly jobs: number;
  /** Failed jobs retried by one retry-all. */
  readonly retryAll: number;
  /** Failed jobs retried one request each, for the loop against retry-all. */
  readonly singleRetries: number;
  /** Jobs in the table when metrics and the failed page are timed the second time. */
  readonly seedTotal: number;
  /** How many of those are failed; the rest completed. */
  readonly seedFailed: number;
  /** Calls per latency median. */
  readonly samples: number;
  /** Cold imports per handler (bench/bundles.ts). */
  readonly bundleRuns: number;
  /** Where the report goes. */
  readonly out: string;
  /** Profile the runtime's CPU into this folder and add where its time went, phase by phase, to the report. */
  readonly cpuProf?: string;
}

interface Knob {
  readonly flag: string;
  readonly env: string;
  readonly fallback: number;
  readonly min: number;
  readonly help: string;
}

const KNOBS = {
  concurrency: { flag: 'concurrency', env: 'BENCH_CONCURRENCY', fallback: 16, min: 1, help: 'requests in flight (C)' },
  floorUpdates: { flag: 'floor-updates', env: 'BENCH_FLOOR_UPDATES', fallback: 10_000, min: 1, help: 'UpdateItems timed for the floor' },
  jobs: { flag: 'jobs', env: 'BENCH_JOBS', fallback: 5_000, min: 1, help: 'jobs enqueued (N)' },
  retryAll: { flag: 'retry-all', env: 'BENCH_RETRY_ALL', fallback: 10_000, min: 1, help: 'failed jobs for one retry-all' },
  singleRetries: { flag: 'single-retries', env: 'BENCH_SINGLE_RETRIES', fallback: 1_000, min: 1, help: 'failed jobs retried one by one' },
  seedTotal: { flag: 'seed-total', env: 'BENCH_SEED_TOTAL', fallback: 100_000, min: 1, help: 'jobs in the table for the second latency figures' },
  seedFailed: { flag: 'seed-failed', env: 'BENCH_SEED_FAILED', fallback: 50_000, min: 1, help: 'of which failed' },
  samples: { flag: 'samples', env: 'BENCH_SAMPLES', fallback: 50, min: 1, help: 'calls per latency median' },
  bundleRuns: { flag: 'bundle-runs', env: 'BENCH_BUNDLE_RUNS', fallback: 7, min: 1, help: 'cold imports per handler' },
} satisfies Record<string, Knob>;

export class BenchOptionsError extends Error {
  override readonly name = 'BenchOptionsError';
}

export const usage = (): string =>
  [
    'npm run bench [-- --flag=value ...]   (each flag also as an environment variable)',
    ...Object.values(KNOBS).map((k) => `  --${k.flag.padEnd(15)} ${k.env.padEnd(21)} ${k.help} (default ${k.fallback})`),
    `  --${'out'.padEnd(15)} ${'BENCH_OUT'.padEnd(21)} the report's path (default docs/BENCHMARKS.md)`,
    `  --${'cpu-prof'.padEnd(15)} ${'BENCH_CPU_PROF'.padEnd(21)} profile the runtime into this folder; the report says where its time went (slows it)`,
  ].join('\n');

/** `--name=value` and `--name value` pairs; anything else is refused with the error `refuse` makes of the problem. */
export const parseFlags = (argv: readonly string[], refuse: (problem: string) => Error): Map<string, string> => {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]!);
    if (!match) throw refuse(`Unexpected argument '${argv[i]}'.`);
    const value = match[2] ?? argv[++i];
    if (value === undefined) throw refuse(`--${match[1]} needs a value.`);
    flags.set(match[1]!, value);
  }
  return flags;
};

const refuse = (problem: string) => new BenchOptionsError(`${problem}\n${usage()}`);

export const readOptions = (argv: readonly string[], env: NodeJS.ProcessEnv, root: string): BenchOptions => {
  const flags = parseFlags(argv, refuse);
  const known = new Set([...Object.values(KNOBS).map((k) => k.flag), 'out', 'cpu-prof']);
  for (const flag of flags.keys()) {
    if (!known.has(flag)) throw new BenchOptionsError(`Unknown flag --${flag}.\n${usage()}`);
  }
  const number = (knob: Knob): number => {
    const raw = flags.get(knob.flag) ?? env[knob.env];
    if (raw === undefined || raw === '') return knob.fallback;
    const value = Number(raw.replace(/_/g, ''));
    if (!Number.isInteger(value) || value < knob.min) {
      throw new BenchOptionsError(`--${knob.flag} (${knob.env}) must be a whole number, ${knob.min} or more; got '${raw}'.`);
    }
    return value;
  };
  const values = Object.fromEntries(Object.entries(KNOBS).map(([key, knob]) => [key, number(knob)])) as Record<
    keyof typeof KNOBS,
    number
  >;
  if (values.seedFailed > values.seedTotal) {
    throw new BenchOptionsError(`--seed-failed (${values.seedFailed}) cannot exceed --seed-total (${values.seedTotal}).`);
  }
  const out = flags.get('out') ?? env.BENCH_OUT ?? path.join('docs', 'BENCHMARKS.md');
  const cpuProf = flags.get('cpu-prof') ?? env.BENCH_CPU_PROF;
  return { ...values, out: path.resolve(root, out), ...(cpuProf ? { cpuProf: path.resolve(root, cpuProf) } : {}) };
};

/** How to make this run again: the variables that took effect, then the command and its flags. */
export const commandLine = (argv: readonly string[], env: NodeJS.ProcessEnv): string => {
  const flags = parseFlags(argv, refuse);
  const knobs: { flag: string; env: string }[] = [
    ...Object.values(KNOBS),
    { flag: 'out', env: 'BENCH_OUT' },
    { flag: 'cpu-prof', env: 'BENCH_CPU_PROF' },
  ];
  const fromEnv = knobs.filter((k) => !flags.has(k.flag) && env[k.env]).map((k) => `${k.env}=${env[k.env]}`);
  const worker = env.REQUEUE_WORKER_CONCURRENCY ? [`REQUEUE_WORKER_CONCURRENCY=${env.REQUEUE_WORKER_CONCURRENCY}`] : [];
  return [...worker, ...fromEnv, 'npm run bench', ...(argv.length > 0 ? ['--', ...argv] : [])].join(' ');
};
