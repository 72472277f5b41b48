import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { DependencyUnavailableError } from '../lambda/core/errors';

export const now = (): number => performance.now();
export const perSecond = (count: number, ms: number): number => (ms > 0 ? (count * 1000) / ms : Number.POSITIVE_INFINITY);

/** `fn(0 … count-1)`, at most `concurrency` calls in flight; resolves with the wall time in ms. The first error stops the run. */
export const runConcurrently = async (count: number, concurrency: number, fn: (i: number) => Promise<unknown>): Promise<number> => {
  const [start, failures]: [number, unknown[]] = [now(), []];
  let next = 0;
  const lane = async () => {
    while (next < count && failures.length === 0) await fn(next++).catch((error: unknown) => void failures.push(error));
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  if (failures.length > 0) throw failures[0];
  return now() - start;
};

export type Latency = { readonly [K in 'medianMs' | 'p90Ms' | 'minMs' | 'maxMs' | 'samples']: number };

export const summarize = (samples: readonly number[]): Latency => {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 100) / 100;
  return { medianMs: at(0.5), p90Ms: at(0.9), minMs: at(0), maxMs: at(1), samples: sorted.length };
};

export const timeCalls = async (samples: number, fn: () => Promise<unknown>): Promise<Latency> => {
  const times: number[] = [];
  for (let i = -5; i < samples; i++) {
    const start = now();
    await fn();
    if (i >= 0) times.push(now() - start);
  }
  return summarize(times);
};

/** `probe` every `intervalMs` until `done` accepts its reading, which it resolves with; fails past `timeoutMs`, naming the last one. */
export const waitFor = async <T>(
  probe: () => Promise<T>,
  done: (reading: T) => boolean,
  what: string,
  timeoutMs: number,
  intervalMs = 100,
): Promise<T> => {
  const deadline = now() + timeoutMs;
  for (;; await sleep(intervalMs)) {
    let reading: T;
    try {
      reading = await probe();
    } catch (error) {
      // a 503 of a busy emulator says "try again", as it would to any client: the next probe does, until the deadline
      if (error instanceof DependencyUnavailableError && now() <= deadline) continue;
      throw error;
    }
    if (done(reading)) return reading;
    if (now() > deadline) throw new Error(`Waited ${Math.round(timeoutMs / 1000)} s for ${what}; last seen: ${JSON.stringify(reading)}`);
  }
};

export const freePorts = async (): Promise<[number, number]> => {
  const servers = [createServer(), createServer()];
  await Promise.all(servers.map((server) => once(server.listen(0, '127.0.0.1'), 'listening')));
  const ports = servers.map((server) => (server.address() as AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((closed) => server.close(closed))));
  return [ports[0]!, ports[1]!];
};

// Resolves once the runtime's process group (npm and the runtime) stays below a tenth of a core for a second (Linux's
// /proc; at once elsewhere), at most `maxMs`: LevelDB compacts after a bulk load, and a figure timed meanwhile would be its.
export const settle = async (pgid: number, maxMs = 120_000): Promise<void> => {
  const stat = (pid: string) => {
    try {
      return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
    } catch {
      return []; // not a process, or gone since the listing
    }
  };
  // utime + stime, in clock ticks of 10 ms, of every process whose group is the runtime's
  const cpuMs = () => {
    let ms = 0;
    for (const fields of (existsSync('/proc') ? readdirSync('/proc') : []).map(stat)) {
      if (Number(fields[2]) === pgid) ms += (Number(fields[11]) + Number(fields[12])) * 10;
    }
    return ms;
  };
  let cpu = cpuMs();
  for (const deadline = now() + maxMs; now() < deadline; ) {
    await sleep(1_000);
    const before = cpu;
    cpu = cpuMs();
    if (cpu - before < 100) return;
  }
};
