// Every bench's options: a flag (`--jobs=5000` or `--jobs 5000`), else its variable (`BENCH_JOBS=5000`), else its default.
/** A knob whose default is a number takes whole numbers of 1 or more; one whose default is a string any text. */
export type Knob = Readonly<{ env: string; fallback: number | string; help: string }>;
export type Knobs = Record<string, Knob>;
export type Values<K extends Knobs> = { readonly [P in keyof K]: K[P]['fallback'] extends number ? number : string };

class BenchOptionsError extends Error {}

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

const flagOf = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

// A bench's entry point: `--help` prints the usage; else `main` gets the options and the command line that makes the run
// again (the variables that took effect first). A bad option prints its message, any other failure its stack.
export const runBench = <K extends Knobs>(script: string, knobs: K, main: (options: Values<K>, command: string) => Promise<void>): void => {
  const [argv, env, entries] = [process.argv.slice(2), process.env, Object.entries(knobs)];
  const usage = [
    `npm run ${script} [-- --flag=value ...]   (each flag also as an environment variable)`,
    ...entries.map(([key, k]) => `  --${flagOf(key).padEnd(15)} ${k.env.padEnd(21)} ${k.help} (default ${k.fallback})`),
  ].join('\n');
  if (argv.includes('--help')) return void process.stdout.write(`${usage}\n`);
  const refuse = (problem: string) => new BenchOptionsError(`${problem}\n${usage}`);
  const read = () => {
    const flags = parseFlags(argv, refuse);
    for (const flag of flags.keys()) if (!entries.some(([key]) => flagOf(key) === flag)) throw refuse(`Unknown flag --${flag}.`);
    const value = ([key, knob]: [string, Knob]): [string, number | string] => {
      const raw = flags.get(flagOf(key)) ?? env[knob.env];
      if (raw === undefined || raw === '' || typeof knob.fallback === 'string') return [key, raw || knob.fallback];
      const n = Number(raw.replace(/_/g, ''));
      if (!Number.isInteger(n) || n < 1) throw refuse(`--${flagOf(key)} (${knob.env}) must be a whole number, 1 or more; got '${raw}'.`);
      return [key, n];
    };
    const fromEnv = entries.filter(([key, k]) => !flags.has(flagOf(key)) && env[k.env]).map(([, k]) => `${k.env}=${env[k.env]}`);
    const worker = env.REQUEUE_WORKER_CONCURRENCY ? [`REQUEUE_WORKER_CONCURRENCY=${env.REQUEUE_WORKER_CONCURRENCY}`] : [];
    const command = [...worker, ...fromEnv, `npm run ${script}`, ...(argv.length > 0 ? ['--', ...argv] : [])].join(' ');
    return main(Object.fromEntries(entries.map(value)) as Values<K>, command);
  };
  Promise.resolve().then(read).catch((error: unknown) => {
    process.stderr.write(`${error instanceof BenchOptionsError ? error.message : ((error as Error).stack ?? String(error))}\n`);
    process.exitCode = 1;
  });
};
