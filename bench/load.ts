// What the benches share: a local runtime with clients of its emulators, loads at a concurrency, timed calls, waits.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DependencyUnavailableError } from '../lambda/core/errors';
import { signalGroup, startLocalRuntime } from '../local/launcher';
import type { SeedTarget } from './seed';

export const now = (): number => performance.now();

/** `jobs` done in `ms`, and their rate. */
export const rate = (jobs: number, ms: number) => ({ jobs, ms, perSecond: ms > 0 ? (jobs * 1000) / ms : Infinity });

/** `fn(0 … count-1)`, at most `concurrency` calls in flight; resolves with their rate. */
export const runConcurrently = async (count: number, concurrency: number, fn: (i: number) => Promise<unknown>) => {
  const start = now();
  let next = 0;
  const lane = async () => {
    while (next < count) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return rate(count, now() - start);
};

type Latency = { readonly [K in 'medianMs' | 'p90Ms' | 'minMs' | 'maxMs' | 'samples']: number };

export const summarize = (samples: readonly number[]): Latency => {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 100) / 100;
  return { medianMs: at(0.5), p90Ms: at(0.9), minMs: at(0), maxMs: at(1), samples: sorted.length };
};

/** `samples` calls of `fn`, one after the other, after 5 untimed ones. */
export const timeCalls = async (samples: number, fn: () => Promise<unknown>): Promise<Latency> => {
  const times: number[] = [];
  for (let i = -5; i < samples; i++) {
    const start = now();
    await fn();
    if (i >= 0) times.push(now() - start);
  }
  return summarize(times);
};

/** `probe` every `intervalMs` until `done` accepts its reading, which it resolves with; fails past `timeoutMs`. */
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
    if (now() > deadline) {
      throw new Error(`Waited ${Math.round(timeoutMs / 1000)} s for ${what}; last seen: ${JSON.stringify(reading)}`);
    }
  }
};

// Resolves once the runtime's process group (npm and the runtime) stays below a tenth of a core for a second (Linux's
// /proc; at once elsewhere), at most `maxMs`: LevelDB compacts after a bulk load, and a figure timed then would be its.
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

/** As local/main.ts provisions it. */
export const TABLE_NAME = 'requeue-jobs';

let runtimeGroup: number | undefined;

/**
 * `npm start` with `options`, and what a bench needs of it: its emulators' endpoints (read from what it prints), its
 * DynamoDB client settings, where to seed jobs (16 batches in flight) and `call`, an API call that must answer
 * `expected`.
 */
export const startRuntime = async (options: Parameters<typeof startLocalRuntime>[0] = {}) => {
  // a runtime runs in a process group of its own, which no Ctrl-C reaches: it goes when the bench does
  if (runtimeGroup === undefined) {
    process.on('exit', () => runtimeGroup !== undefined && signalGroup(runtimeGroup, 'SIGKILL'));
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.on(signal, () => process.exit(128 + constants.signals[signal]));
    }
  }
  // the SDK's notice of its future Node.js support is noise here, in the bench's clients and in the runtime's
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const local = await startLocalRuntime({ ...options, onSpawn: (pgid) => (runtimeGroup = pgid) });
  const endpoints = /DynamoDB API \(dynalite\) at (\S+), SQS API \(fauxqs\) at (\S+)/.exec(local.output());
  if (!endpoints) throw new Error(`the runtime printed no emulator endpoints:\n${local.output()}`);
  const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  const [dynamoDbEndpoint, sqsEndpoint] = [endpoints[1]!, endpoints[2]!];
  const dynamoDb: DynamoDBClientConfig = { region: 'us-east-1', endpoint: dynamoDbEndpoint, credentials };
  const marshallOptions = { removeUndefinedValues: true };
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient(dynamoDb), { marshallOptions });
  const sqs = new SQSClient({ region: 'us-east-1', endpoint: sqsEndpoint, credentials, useQueueUrlAsEndpoint: false });
  const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: 'requeue-jobs-dlq' }));
  const seedTarget: SeedTarget = { doc, sqs, tableName: TABLE_NAME, deadLetterQueueUrl: QueueUrl!, concurrency: 16 };
  const call = async (method: string, route: string, expected = 200, body?: unknown): Promise<any> => {
    const answer = await local.request(method, route, body);
    if (answer.status === expected) return answer.body;
    throw new Error(`${method} ${route} answered ${answer.status}, not ${expected}: ${answer.text.slice(0, 500)}`);
  };
  return { local, endpoints: { dynamoDb: dynamoDbEndpoint, sqs: sqsEndpoint }, dynamoDb, seedTarget, call };
};

export type BenchRuntime = Awaited<ReturnType<typeof startRuntime>>;
