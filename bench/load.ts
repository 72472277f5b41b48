/** Ways to put load on the runtime and time it. */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { DependencyUnavailableError } from '../lambda/core/errors';

export const now = (): number => performance.now();

/**
 * Call `fn(0 … count-1)` with at most `concurrency` calls in flight; resolves
 * with the wall time in milliseconds. The first error stops the run.
 */
export const runConcurrently = async (
  count: number,
  concurrency: number,
  fn: (i: number) => Promise<void>,
): Promise<number> => {
  let next = 0;
  let failure: unknown;
  const start = now();
  const lane = async () => {
    while (next < count && failure === undefined) {
      const i = next++;
      try {
        await fn(i);
      } catch (error) {
        failure ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  if (failure !== undefined) throw failure;
  return now() - start;
};

export interface Latency {
  readonly medianMs: number;
  readonly p90Ms: number;
  readonly minMs: number;
  readonly maxMs: number;
  readonly samples: number;
}

const round = (ms: number, digits = 2) => Math.round(ms * 10 ** digits) / 10 ** digits;

export const summarize = (samples: readonly number[]): Latency => {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const median =
    sorted.length % 2 === 1
      ? sorted[(sorted.length - 1) / 2]!
      : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
  return {
    medianMs: round(median),
    p90Ms: round(at(0.9)),
    minMs: round(sorted[0]!),
    maxMs: round(sorted.at(-1)!),
    samples: sorted.length,
  };
};

/** One call at a time, `samples` times after `warmUp` untimed calls. */
export const timeCalls = async (samples: number, fn: () => Promise<void>, warmUp = 5): Promise<Latency> => {
  for (let i = 0; i < warmUp; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const start = now();
    await fn();
    times.push(now() - start);
  }
  return summarize(times);
};

/**
 * Read `probe` every `intervalMs` until `done` accepts what it read; resolves
 * with that reading. Fails past `timeoutMs`, naming the last reading.
 */
export const waitFor = async <T>(
  probe: () => Promise<T>,
  done: (reading: T) => boolean,
  what: string,
  timeoutMs: number,
  intervalMs = 100,
): Promise<T> => {
  const deadline = now() + timeoutMs;
  for (;;) {
    let reading: T;
    try {
      reading = await probe();
    } catch (error) {
      // a 503 of a busy emulator says "try again", as it would to any client: the next probe does, until the deadline
      if (!(error instanceof DependencyUnavailableError) || now() > deadline) throw error;
      await sleep(intervalMs);
      continue;
    }
    if (done(reading)) return reading;
    if (now() > deadline) {
      throw new Error(`Waited ${Math.round(timeoutMs / 1000)} s for ${what}; last seen: ${JSON.stringify(reading)}`);
    }
    await sleep(intervalMs);
  }
};

/** Per second, from a count and milliseconds. */
export const perSecond = (count: number, ms: number): number => (ms > 0 ? (count * 1000) / ms : Number.POSITIVE_INFINITY);

/** A port free on loopback right now. */
const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

/** Two distinct free ports. */
export const freePorts = async (): Promise<[number, number]> => {
  for (;;) {
    const [a, b] = [await freePort(), await freePort()];
    if (a !== b) return [a, b];
  }
};

/** utime + stime of a process in ms, from /proc (Linux); undefined elsewhere. */
const processCpuMs = (pid: number): number | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
};

/** The node process running local/start.mjs with this dynalite port (other runtimes may run beside it); Linux only. */
export const findRuntimePid = (dynamoDbPort: number): number | undefined => {
  let pids: string[] = [];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (!/(^|\/)node$/.test(argv[0]!) || !argv.some((arg) => arg.endsWith('local/start.mjs'))) continue;
      if (readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`DYNAMODB_PORT=${dynamoDbPort}`)) return Number(pid);
    } catch {
      // gone, or not ours to read
    }
  }
  return undefined;
};

/**
 * Wait until the runtime's process stays below a tenth of a core for a
 * second, at most `maxMs`: after a bulk load LevelDB compacts on threads of
 * its own, and a rate or latency timed meanwhile would be the compaction's.
 * Resolves with the time waited.
 */
export const settle = async (pid: number | undefined, maxMs = 120_000): Promise<number> => {
  const start = now();
  if (pid === undefined) return 0;
  let before = processCpuMs(pid);
  for (;;) {
    await sleep(1_000);
    const after = processCpuMs(pid);
    if (before === undefined || after === undefined || after - before < 100 || now() - start >= maxMs) return now() - start;
    before = after;
  }
};
