// A bench's options: a flag (`--jobs=5000` or `--jobs 5000`), else its variable (`BENCH_JOBS`), else its default.
import { parseArgs } from 'node:util';

/** A knob whose default is a number takes whole numbers of 1 or more; one whose default is a string any text. */
export type Knob = Readonly<{ env: string; fallback: number | string; help: string }>;

export type Knobs = Record<string, Knob>;

export type Values<K extends Knobs> = { readonly [P in keyof K]: K[P]['fallback'] extends number ? number : string };

class BenchOptionsError extends Error {}

const flagOf = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** The options, and the command line that makes the run again: the variables that took effect first, then the flags. */
const readOptions = (script: string, knobs: Knobs, argv: string[]) => {
  const options = Object.fromEntries(Object.keys(knobs).map((key) => [flagOf(key), { type: 'string' as const }]));
  const flags = parseArgs({ args: argv, options }).values;
  const worker = process.env.REQUEUE_WORKER_CONCURRENCY;
  const variables = worker ? [`REQUEUE_WORKER_CONCURRENCY=${worker}`] : [];
  const values: Record<string, number | string> = {};
  for (const [key, knob] of Object.entries(knobs)) {
    const variable = process.env[knob.env];
    if (flags[flagOf(key)] === undefined && variable) variables.push(`${knob.env}=${variable}`);
    const raw = flags[flagOf(key)] ?? variable;
    const n = Number(raw?.replace(/_/g, ''));
    if (!raw || typeof knob.fallback === 'string') values[key] = raw || knob.fallback;
    else if (Number.isInteger(n) && n >= 1) values[key] = n;
    else throw new BenchOptionsError(`--${flagOf(key)} (${knob.env}) must be a whole number, 1 or more; got '${raw}'.`);
  }
  const command = [...variables, `npm run ${script}`, ...(argv.length > 0 ? ['--', ...argv] : [])].join(' ');
  return { values, command };
};

// A bench's entry point: `--help` prints the usage; else `main` gets the options and the command line that makes
// the run again. A bad option prints its message and the usage, any other failure its stack.
export const runBench = async <K extends Knobs>(
  script: string,
  knobs: K,
  main: (options: Values<K>, command: string) => Promise<void>,
): Promise<void> => {
  const argv = process.argv.slice(2);
  const usage = [`npm run ${script} [-- --flag=value ...]   (each flag also as an environment variable)`];
  for (const [key, k] of Object.entries(knobs)) {
    usage.push(`  --${flagOf(key).padEnd(15)} ${k.env.padEnd(21)} ${k.help} (default ${k.fallback})`);
  }
  if (argv.includes('--help')) return void process.stdout.write(`${usage.join('\n')}\n`);
  try {
    const { values, command } = readOptions(script, knobs, argv);
    await main(values as Values<K>, command);
  } catch (error) {
    const bad = error instanceof BenchOptionsError || /^ERR_PARSE_ARGS/.test((error as { code?: string }).code ?? '');
    process.stderr.write(`${bad ? [(error as Error).message, ...usage].join('\n') : (error as Error).stack}\n`);
    process.exitCode = 1;
  }
};
