/**
 * The timed stretches of a bench run, each with the CPU time the runtime and
 * the bench spent in it: a rate far below the floor while the runtime's
 * process sits at one full core says the runtime's single thread is the limit.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Phase {
  readonly name: string;
  /** On the monotonic clock that V8's CPU profiles use, in microseconds. */
  readonly startUs: number;
  readonly endUs: number;
  /** CPU time of the runtime's process (every thread: LevelDB works on its own), when it could be read. */
  readonly runtimeCpuMs?: number;
  /** CPU time of the bench's own process: the client side of every load. */
  readonly benchCpuMs: number;
  /** CPU time of every other process on the machine (other work sharing its cores), when it could be read. */
  readonly othersCpuMs?: number;
  /** Jobs the phase moved, for figures per job. */
  readonly jobs?: number;
}

/** process.hrtime and V8's profile timestamps read the same monotonic clock. */
export const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);

const CLOCK_TICKS_PER_SECOND = 100;

/** utime + stime of a process, from /proc (Linux). */
const processCpuMs = (pid: number): number | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is the state, field 3 of stat(5); utime and stime are fields 14 and 15
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
};

/**
 * The runtime's process among all on the machine (other runtimes may be
 * running): the one running local/start.mjs with our dynalite port. Linux only;
 * undefined elsewhere.
 */
export const findRuntimePid = (dynamoDbPort: number): number | undefined => {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    try {
      // node itself, not the shell npm runs it through
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (!/(^|\/)node$/.test(argv[0]!) || !argv.some((arg) => arg.endsWith('local/start.mjs'))) continue;
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      if (env.includes(`DYNAMODB_PORT=${dynamoDbPort}`)) return Number(pid);
    } catch {
      // gone, or not ours to read
    }
  }
  return undefined;
};

/** Busy time of the whole machine, every core, from /proc/stat (Linux). */
const machineBusyMs = (): number | undefined => {
  try {
    const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    const busy = ticks[0]! + ticks[1]! + ticks[2]! + ticks[5]! + ticks[6]! + ticks[7]!;
    return (busy * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
};

const benchCpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

export class Phases {
  readonly list: Phase[] = [];

  /**
   * @param idleShare the share of a core below which the runtime counts as idle: a profiled
   *   runtime never falls as low, its sampling profiler keeping each of its threads a little busy
   */
  constructor(
    private readonly runtimePid: number | undefined,
    private readonly idleShare = 0.1,
  ) {}

  /** Start a phase; call the answer to end it. */
  begin(name: string, jobs?: number): () => void {
    const startUs = monotonicUs();
    const runtimeStart = this.runtimePid === undefined ? undefined : processCpuMs(this.runtimePid);
    const benchStart = benchCpuMs();
    const machineStart = machineBusyMs();
    return () => {
      const runtimeEnd = this.runtimePid === undefined ? undefined : processCpuMs(this.runtimePid);
      const machineEnd = machineBusyMs();
      const bench = benchCpuMs() - benchStart;
      const runtime = runtimeStart !== undefined && runtimeEnd !== undefined ? runtimeEnd - runtimeStart : undefined;
      const others =
        runtime !== undefined && machineStart !== undefined && machineEnd !== undefined
          ? Math.max(0, machineEnd - machineStart - runtime - bench)
          : undefined;
      this.list.push({
        name,
        startUs,
        endUs: monotonicUs(),
        ...(runtime !== undefined ? { runtimeCpuMs: runtime } : {}),
        benchCpuMs: Math.round(bench),
        ...(others !== undefined ? { othersCpuMs: Math.round(others) } : {}),
        ...(jobs !== undefined ? { jobs } : {}),
      });
    };
  }

  /**
   * Wait until the runtime's process is idle (below the idle share of a core over
   * `windowMs`), at most `maxMs`: after a bulk load LevelDB compacts for a
   * while on threads of its own, and a latency measured meanwhile is the
   * compaction's, not the table's. Resolves with the time waited.
   */
  async settle(maxMs = 120_000, windowMs = 1_000, idleShare = this.idleShare): Promise<number> {
    if (this.runtimePid === undefined) return 0;
    const start = monotonicUs();
    let before = processCpuMs(this.runtimePid);
    for (;;) {
      await sleep(windowMs);
      const after = processCpuMs(this.runtimePid);
      const waitedMs = (monotonicUs() - start) / 1000;
      if (before === undefined || after === undefined || after - before < windowMs * idleShare || waitedMs >= maxMs) {
        return waitedMs;
      }
      before = after;
    }
  }

  async time<T>(name: string, fn: () => Promise<T>, jobs?: number): Promise<T> {
    const end = this.begin(name, jobs);
    try {
      return await fn();
    } finally {
      end();
    }
  }
}
