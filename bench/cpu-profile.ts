/**
 * Where the runtime's time goes, phase by phase: `npm run bench -- --cpu-prof=<dir>`
 * runs every thread of the runtime (the main one: handlers, emulations,
 * fauxqs; dynalite's own) under V8's sampling profiler, and notes the time
 * and kind of every request its HTTP servers receive. Once it stopped, the
 * samples of each phase are summed per thread by who spent them, and its
 * DynamoDB, SQS and API calls are counted, per job.
 *
 * `--cpu-prof` itself is not allowed in NODE_OPTIONS, and `npm start` is how
 * the bench starts the runtime, so a preloaded script drives the profiler
 * through node:inspector instead, in the runtime's process only. The main
 * thread writes its profile when the process exits; a worker thread when its
 * HTTP server closes (a clean stop closes dynalite's, then ends its thread).
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Phase } from './phases';

/** A stretch of the run, on the monotonic clock V8's profiles use (microseconds). */
export type PhaseWindow = Pick<Phase, 'name' | 'startUs' | 'endUs'>;

const PROFILE_PREFIX = 'runtime-';

/** Write the preload script into `dir`; resolves with the NODE_OPTIONS that load it. */
export const profilerPreload = (dir: string): string => {
  // an earlier run's profile would be taken for this one's
  for (const old of readdirSync(dir).filter((f) => f.startsWith(PROFILE_PREFIX))) rmSync(path.join(dir, old));
  const file = path.join(dir, 'profile-runtime.cjs');
  const prefix = JSON.stringify(path.join(dir, PROFILE_PREFIX));
  writeFileSync(
    file,
    `// written by bench/cpu-profile.ts: profile every thread of the process that runs local/start.mjs,
// and note every request its HTTP servers receive
const { isMainThread, threadId } = require('node:worker_threads');
const FLAG = 'REQUEUE_BENCH_PROFILED_PROCESS';
// a worker thread's argv names no script; the main thread marks the environment its workers copy
if (isMainThread && (process.argv[1] || '').endsWith('local/start.mjs')) process.env[FLAG] = String(process.pid);
if (process.env[FLAG] === String(process.pid)) {
  const inspector = require('node:inspector');
  const http = require('node:http');
  const fs = require('node:fs');
  const session = new inspector.Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  session.post('Profiler.start');

  const names = [];
  const index = new Map();
  const times = [];
  const kinds = [];
  const note = (name) => {
    let kind = index.get(name);
    if (kind === undefined) {
      kind = names.length;
      names.push(name);
      index.set(name, kind);
    }
    times.push(Number(process.hrtime.bigint() / 1000n));
    kinds.push(kind);
  };
  const emit = http.Server.prototype.emit;
  http.Server.prototype.emit = function (event, request) {
    if (event === 'request') {
      const target = request.headers['x-amz-target'];
      if (target) note(String(target).replace(/^DynamoDB_\\d+\\./, 'DynamoDB ').replace(/^AmazonSQS\\./, 'SQS '));
      else note('HTTP ' + request.method + ' ' + String(request.url).split('?')[0].replace(/\\/[0-9a-f-]{36}(?=\\/|$)/g, '/{id}'));
    }
    return emit.apply(this, arguments);
  };

  let written = false;
  const write = () => {
    if (written) return;
    written = true;
    const base = ${prefix} + process.pid + '-' + (isMainThread ? 'main' : 'thread' + threadId);
    fs.writeFileSync(base + '.calls.json', JSON.stringify({ names, times, kinds }));
    session.post('Profiler.stop', (error, result) => {
      if (!error) fs.writeFileSync(base + '.cpuprofile', JSON.stringify(result.profile));
    });
  };
  if (isMainThread) process.on('exit', write);
  else {
    const close = http.Server.prototype.close;
    http.Server.prototype.close = function () {
      write();
      return close.apply(this, arguments);
    };
  }
}
`,
  );
  return `--require ${file}`;
};

export interface ThreadProfile {
  /** \`main\` or \`thread<id>\`. */
  readonly thread: string;
  readonly file: string;
}

/** The runtime's profiles, its main thread's first. */
export const findRuntimeProfiles = (dir: string): ThreadProfile[] => {
  const found = readdirSync(dir)
    .map((f) => /^runtime-\d+-(main|thread\d+)\.cpuprofile$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ thread: m[1]!, file: path.join(dir, m[0]) }))
    .sort((a, b) => (a.thread === 'main' ? -1 : b.thread === 'main' ? 1 : a.thread.localeCompare(b.thread)));
  if (!found.some((p) => p.thread === 'main')) throw new Error(`no profile of the runtime's main thread in ${dir}`);
  return found;
};

interface CallLog {
  readonly names: readonly string[];
  readonly times: readonly number[];
  readonly kinds: readonly number[];
}

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const SPECIAL = new Set(['(garbage collector)', '(idle)', '(program)', '(root)']);

/**
 * Who a frame belongs to: a package under node_modules, the runtime's own
 * bundle (requeue: lambda/ and local/), or Node.js itself.
 */
const ownerOf = (frame: CallFrame): string | undefined => {
  if (SPECIAL.has(frame.functionName) && frame.url === '') return frame.functionName;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(frame.url);
  if (pkg) {
    const name = pkg[1]!;
    if (name.startsWith('@aws-sdk/') || name.startsWith('@smithy/') || name.startsWith('@aws-crypto/')) return 'AWS SDK';
    return name;
  }
  if (/dist\/local\/main\.mjs$/.test(frame.url)) return 'requeue (lambda/, local/)';
  return undefined; // Node.js internals and anonymous frames: charged to whoever called them
};

export interface ThreadPhase {
  readonly thread: string;
  /** Sampled time not idle: the thread at work. */
  readonly busyMs: number;
  /** Owner → ms, Node.js internals charged to the nearest caller that has an owner. */
  readonly byOwner: readonly { readonly owner: string; readonly ms: number }[];
  /** Function → self ms. */
  readonly topFunctions: readonly { readonly name: string; readonly ms: number }[];
}

export interface PhaseProfile {
  readonly name: string;
  readonly jobs?: number;
  readonly wallMs: number;
  /** Requests the runtime's servers received (every thread's), by kind, most first. */
  readonly calls: readonly { readonly call: string; readonly count: number }[];
  readonly threads: readonly ThreadPhase[];
}

const top = (totals: Map<string, number>, n: number) =>
  [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([key, us]) => ({ key, ms: Math.round(us / 100) / 10 }));

/** The requests of `logs` within a window, by kind. */
const countCalls = (logs: readonly CallLog[], w: PhaseWindow) => {
  const counts = new Map<string, number>();
  for (const log of logs) {
    log.times.forEach((t, i) => {
      if (t < w.startUs || t > w.endUs) return;
      const name = log.names[log.kinds[i]!]!;
      counts.set(name, (counts.get(name) ?? 0) + 1);
    });
  }
  return [...counts].sort((a, b) => b[1] - a[1]).map(([call, count]) => ({ call, count }));
};

export const summarizeProfiles = (
  profiles: readonly ThreadProfile[],
  windows: readonly (PhaseWindow & { jobs?: number })[],
): PhaseProfile[] => {
  const logs = profiles.map((p) => JSON.parse(readFileSync(p.file.replace(/\.cpuprofile$/, '.calls.json'), 'utf8')) as CallLog);
  const perThread = profiles.map((p) => summarizeThread(p, windows));
  return windows.map((w, i) => ({
    name: w.name,
    ...(w.jobs !== undefined ? { jobs: w.jobs } : {}),
    wallMs: Math.round((w.endUs - w.startUs) / 1000),
    calls: countCalls(logs, w),
    threads: perThread.map((phases) => phases[i]!),
  }));
};

const summarizeThread = ({ thread, file }: ThreadProfile, windows: readonly PhaseWindow[]): ThreadPhase[] => {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const ownerCache = new Map<number, string>();
  const ownerOfNode = (id: number): string => {
    const cached = ownerCache.get(id);
    if (cached) return cached;
    let owner = 'node internals';
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const found = ownerOf(byId.get(at)!.callFrame);
      if (found) {
        owner = found;
        break;
      }
    }
    ownerCache.set(id, owner);
    return owner;
  };
  const label = (frame: CallFrame) => {
    const where = frame.url ? `${frame.url.replace(/^.*node_modules\//, '').replace(/^.*\/dist\//, 'dist/')}:${frame.lineNumber + 1}` : '';
    return `${frame.functionName || '(anonymous)'}${where ? ` ${where}` : ''}`;
  };

  return windows.map((w) => {
    const owners = new Map<string, number>();
    const functions = new Map<string, number>();
    let busy = 0;
    let t = profile.startTime;
    for (let i = 0; i < profile.samples.length; i++) {
      t += profile.timeDeltas[i]!;
      if (t < w.startUs || t > w.endUs) continue;
      // a sample stands for the time until the next one
      const us = profile.timeDeltas[i + 1] ?? 0;
      const id = profile.samples[i]!;
      const frame = byId.get(id)!.callFrame;
      if (frame.functionName === '(idle)') continue;
      busy += us;
      const owner = ownerOfNode(id);
      owners.set(owner, (owners.get(owner) ?? 0) + us);
      functions.set(label(frame), (functions.get(label(frame)) ?? 0) + us);
    }
    return {
      thread,
      busyMs: Math.round(busy / 1000),
      byOwner: top(owners, 12).map(({ key, ms }) => ({ owner: key, ms })),
      topFunctions: top(functions, 12).map(({ key, ms }) => ({ name: key, ms })),
    };
  });
};

const threadName = (thread: string) => (thread === 'main' ? 'main thread' : `worker ${thread}`);

export const formatProfiles = (phases: readonly PhaseProfile[]): string[] => {
  const lines: string[] = [];
  for (const p of phases) {
    const busy = p.threads.map((t) => `${threadName(t.thread)} ${t.busyMs} ms (${Math.round((t.busyMs / Math.max(1, p.wallMs)) * 100)}%)`);
    lines.push(`### ${p.name}: ${p.wallMs} ms wall; busy: ${busy.join(', ')}`, '');
    for (const t of p.threads) {
      const share = (ms: number) => `${Math.round((ms / Math.max(1, t.busyMs)) * 100)}%`;
      lines.push(
        `| ${threadName(t.thread)}: who (Node.js internals charged to their caller) | ms | share of busy |`,
        '|---|---|---|',
        ...t.byOwner.map((o) => `| ${o.owner} | ${o.ms} | ${share(o.ms)} |`),
        '',
        `| ${threadName(t.thread)}: function (self time) | ms |`,
        '|---|---|',
        ...t.topFunctions.map((f) => `| \`${f.name.replace(/\|/g, '\\|')}\` | ${f.ms} |`),
        '',
      );
    }
    lines.push(
      `| request received by the runtime | count${p.jobs ? ` | per job (${p.jobs} jobs)` : ''} |`,
      `|---|---${p.jobs ? '|---' : ''}|`,
      ...p.calls.map((c) => `| ${c.call} | ${c.count}${p.jobs ? ` | ${(c.count / p.jobs).toFixed(2)}` : ''} |`),
      '',
    );
  }
  return lines;
};
