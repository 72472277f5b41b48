/**
 * The options of every bench: each a CLI flag (`--jobs=5000` or
 * `--jobs 5000`), else an environment variable (`BENCH_JOBS=5000`), else its
 * default, the size the committed reports are made with.
 */

export interface Knob {
  readonly env: string;
  /** A number knob takes whole numbers of 1 or more; a string knob any text. */
  readonly fallback: number | string;
  readonly help: string;
}
export type Knobs = Record<string, Knob>;
export type Values<K extends Knobs> = { readonly [P in keyof K]: K[P]['fallback'] extends number ? number : string };

export class BenchOptionsError extends Error {
  override readonly name = 'BenchOptionsError';
}

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

/** `retryAll` is `--retry-all`. */
const flagOf = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

export const usage = (script: string, knobs: Knobs): string =>
  [
    `npm run ${script} [-- --flag=value ...]   (each flag also as an environment variable)`,
    ...Object.entries(knobs).map(([key, k]) => `  --${flagOf(key).padEnd(15)} ${k.env.padEnd(21)} ${k.help} (default ${k.fallback})`),
  ].join('\n');

export const readOptions = <K extends Knobs>(script: string, knobs: K, argv: readonly string[], env: NodeJS.ProcessEnv): Values<K> => {
  const refuse = (problem: string) => new BenchOptionsError(`${problem}\n${usage(script, knobs)}`);
  const flags = parseFlags(argv, refuse);
  const known = new Set(Object.keys(knobs).map(flagOf));
  for (const flag of flags.keys()) if (!known.has(flag)) throw refuse(`Unknown flag --${flag}.`);
  const value = ([key, knob]: [string, Knob]): [string, number | string] => {
    const raw = flags.get(flagOf(key)) ?? env[knob.env];
    if (raw === undefined || raw === '') return [key, knob.fallback];
    if (typeof knob.fallback === 'string') return [key, raw];
    const n = Number(raw.replace(/_/g, ''));
    if (!Number.isInteger(n) || n < 1) throw refuse(`--${flagOf(key)} (${knob.env}) must be a whole number, 1 or more; got '${raw}'.`);
    return [key, n];
  };
  return Object.fromEntries(Object.entries(knobs).map(value)) as Values<K>;
};

/** How to make a run again: the variables that took effect, then the command and its flags. */
export const commandLine = (script: string, knobs: Knobs, argv: readonly string[], env: NodeJS.ProcessEnv): string => {
  const flags = parseFlags(argv, (problem) => new BenchOptionsError(problem));
  const fromEnv = Object.entries(knobs)
    .filter(([key, k]) => !flags.has(flagOf(key)) && env[k.env])
    .map(([, k]) => `${k.env}=${env[k.env]}`);
  const worker = env.REQUEUE_WORKER_CONCURRENCY ? [`REQUEUE_WORKER_CONCURRENCY=${env.REQUEUE_WORKER_CONCURRENCY}`] : [];
  return [...worker, ...fromEnv, `npm run ${script}`, ...(argv.length > 0 ? ['--', ...argv] : [])].join(' ');
};

/**
 * A bench's entry point: `--help` prints the usage; the options are read and
 * handed to `main` with the command line that makes the run again; a bad
 * option prints its message, any other failure its stack; either sets exit code 1.
 */
export const runBench = <K extends Knobs>(script: string, knobs: K, main: (options: Values<K>, command: string) => Promise<void>): void => {
  const argv = process.argv.slice(2);
  if (argv.includes('--help')) {
    process.stdout.write(`${usage(script, knobs)}\n`);
    return;
  }
  Promise.resolve()
    .then(() => main(readOptions(script, knobs, argv, process.env), commandLine(script, knobs, argv, process.env)))
    .catch((error: unknown) => {
      process.stderr.write(`${error instanceof BenchOptionsError ? error.message : ((error as Error).stack ?? String(error))}\n`);
      process.exitCode = 1;
    });
};
