/**
 * What the requests bench/cost-counter.ts counts cost on AWS, as each service
 * bills them. Pure: the test asserts it exactly.
 */
import { jobKey } from '../lambda/adapters/dynamodb-job-item';
import { COUNTER_SHARDS } from '../lambda/adapters/dynamodb-job-counters';
import { createTableInput, JOB_TABLE } from '../lambda/adapters/table-schema';
import { itemSize } from '../lambda/adapters/dynamodb-item-size';
import { DEFAULT_SYSTEM_LOG_LEVEL } from '../infra/requeue-function';
import { JOB_CHANGES_COUNTER } from '../lambda/routes';
import type { CountedRequest, Item } from './cost-counter';

/** us-east-1 list prices, US$, as of PRICES_AS_OF, each with its row on the page (the sources are in docs/COST.md). */
export const PRICE_ROWS = {
  dynamoDbWritePerMillionUnits: [0.625, 'DynamoDB, per million write request units'],
  dynamoDbReadPerMillionUnits: [0.125, 'DynamoDB, per million read request units'],
  sqsPerMillionRequests: [0.4, 'SQS standard, per million requests (each 64 KiB of payload is one)'],
  httpApiPerMillionRequests: [1.0, 'API Gateway HTTP API, per million requests'],
  lambdaPerMillionRequests: [0.2, 'Lambda, per million requests'],
  lambdaPerGbSecond: [0.0000133334, 'Lambda arm64, per GB-second'],
  logsIngestionPerGb: [0.5, 'CloudWatch Logs, ingestion per GB'],
} as const;

export const PRICES_AS_OF = '2026-12-02';

export const PRICES = Object.fromEntries(Object.entries(PRICE_ROWS).map(([key, [usd]]) => [key, usd])) as {
  readonly [K in keyof typeof PRICE_ROWS]: number;
};

/** Lambda's own START, END and REPORT records an invocation at the system log level INFO (the functions' is WARN). */
export const INFO_PLATFORM_LOG_BYTES = 300;

/** Durations are timings, so each invocation is billed an assumed time, at every function's memory in infra/. */
export const LAMBDA = {
  memoryGb: 0.5,
  billedMs: { api: 50, worker: 100, taskRunner: 1_000, reconciler: 500, counter: 100 },
  platformLogBytes: DEFAULT_SYSTEM_LOG_LEVEL === 'WARN' ? 0 : INFO_PLATFORM_LOG_BYTES,
} as const;

/** A partition's write units a second. */
export const PARTITION_WCU_PER_SECOND = 1_000;

/** The changes a busy table's stream hands the counting function at once: its BatchSize. */
export const STREAM_BATCH_AT_LOAD = JOB_CHANGES_COUNTER.batchSize;

/** Every index, its key attributes and, unless it projects all, the attributes it keeps. */
const INDEXES = (createTableInput('cost').GlobalSecondaryIndexes ?? []).map(({ IndexName, KeySchema, Projection }) => {
  const keys = KeySchema!.map((k) => k.AttributeName!);
  const type = Projection?.ProjectionType ?? 'ALL';
  const include = type === 'INCLUDE' ? (Projection?.NonKeyAttributes ?? []) : [];
  const projected = type === 'ALL' ? undefined : new Set([JOB_TABLE.partitionKey, JOB_TABLE.sortKey, ...keys, ...include]);
  return { name: IndexName!, keys, projected };
});

const units = (bytes: number) => Math.max(1, Math.ceil(bytes / 1024));
const size = (item: Item | null | undefined) => (item ? itemSize(item) : 0);
const partition = (item: Item, attribute: string) => String(item[attribute]?.S ?? item[attribute]?.N ?? '');
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
export const sum = (ns: readonly number[]): number => ns.reduce((a, b) => a + b, 0);

/** An item's entry in an index, as the index stores it; none when the item lacks a key attribute of it (sparse). */
const indexEntry = (item: Item | null, { keys, projected }: (typeof INDEXES)[number]): Item | undefined => {
  if (!item || keys.some((k) => item[k] === undefined)) return undefined;
  return projected ? Object.fromEntries(Object.entries(item).filter(([name]) => projected.has(name))) : item;
};

/** What an index entry's change costs: a changed entry under the same key its units, a moved one a delete plus a put. */
const entryCharges = (old: Item | undefined, next: Item | undefined, keys: readonly string[]): Array<readonly [Item, number]> => {
  if (old && next && keys.every((k) => same(old[k], next[k]))) {
    return same(old, next) ? [] : [[next, units(Math.max(size(old), size(next)))]];
  }
  return [old, next].flatMap((entry) => (entry ? [[entry, units(size(entry))] as const] : []));
};

export interface WriteUnits {
  readonly table: number;
  readonly indexes: number;
  /** Units by partition key, `<table or index>:<key value>`. */
  readonly partitions: Array<[string, number]>;
}

/**
 * A write's units: the larger of the item before and after, per 1 KB; each
 * index entry put, changed or deleted its own; a write refused by its
 * condition its table units alone.
 */
export const writeUnits = (request: CountedRequest): WriteUnits => {
  const before = request.before ?? null;
  const after = request.failed ? null : (request.after ?? null);
  const table = units(Math.max(size(before), size(request.failed ? request.offered : after)));
  const key = partition((request.after ?? before ?? request.offered)!, JOB_TABLE.partitionKey);
  const partitions: Array<[string, number]> = [[`table:${key}`, table]];
  if (request.failed) return { table, indexes: 0, partitions };
  for (const index of INDEXES) {
    for (const [entry, n] of entryCharges(indexEntry(before, index), indexEntry(after, index), index.keys)) {
      partitions.push([`${index.name}:${partition(entry, index.keys[0]!)}`, n]);
    }
  }
  return { table, indexes: sum(partitions.slice(1).map(([, n]) => n)), partitions };
};

/** AWS bills each key as a GetItem of the whole item, per 4 KB (a missing item as one), half if eventually consistent. */
export const batchGetReadUnits = (request: CountedRequest): number =>
  (request.itemBytes ?? []).reduce((sum, bytes) => sum + Math.max(1, Math.ceil(bytes / 4096)), 0) * (request.consistent ? 1 : 0.5);

export interface Tally {
  /** Requests by `<service> <operation>`. */
  readonly requests: Record<string, number>;
  readonly writeUnits: number;
  readonly indexWriteUnits: number;
  readonly readUnits: number;
  /** SQS requests as billed (per 64 KiB). */
  readonly sqsBilled: number;
  /** Write units by partition key. */
  readonly partitions: Record<string, number>;
}

const EMPTY: Tally = { requests: {}, writeUnits: 0, indexWriteUnits: 0, readUnits: 0, sqsBilled: 0, partitions: {} };
const UNITS = ['writeUnits', 'indexWriteUnits', 'readUnits', 'sqsBilled'] as const;
const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem']);
const READS = new Set(['GetItem', 'Query', 'BatchGetItem']);

const add = (into: Record<string, number>, key: string, n: number) => {
  into[key] = (into[key] ?? 0) + n;
};

/** `a + f × b`, field by field. */
const plus = (a: Tally, b: Tally, f: number): Tally => {
  const sum = (x: Record<string, number>, y: Record<string, number>) => {
    const out = { ...x };
    for (const [k, v] of Object.entries(y)) add(out, k, f * v);
    return out;
  };
  const units = Object.fromEntries(UNITS.map((k) => [k, a[k] + f * b[k]])) as Pick<Tally, (typeof UNITS)[number]>;
  return { requests: sum(a.requests, b.requests), ...units, partitions: sum(a.partitions, b.partitions) };
};

export const tally = (requests: readonly CountedRequest[]): Tally => {
  const t = { ...EMPTY, requests: {} as Record<string, number>, partitions: {} as Record<string, number> };
  for (const r of requests) {
    add(t.requests, `${r.service} ${r.operation}`, 1);
    // an operation the counter does not size would be priced at nothing
    if (r.service === 'dynamodb' && !WRITES.has(r.operation) && !READS.has(r.operation)) {
      throw new Error(`the cost model does not size DynamoDB ${r.operation} yet (bench/cost-counter.ts)`);
    }
    if (r.service === 'sqs') t.sqsBilled += Math.max(1, Math.ceil((r.bytes ?? 0) / (64 * 1024)));
    else if (!WRITES.has(r.operation)) t.readUnits += r.operation === 'BatchGetItem' ? batchGetReadUnits(r) : (r.readUnits ?? 0);
    else {
      const w = writeUnits(r);
      t.writeUnits += w.table + w.indexes;
      t.indexWriteUnits += w.indexes;
      for (const [key, n] of w.partitions) add(t.partitions, key, n);
    }
  }
  return t;
};

export interface Usage {
  readonly tally: Tally;
  /** What a worker batch pays once, however many of the `received` messages it holds. */
  readonly perBatch: Tally;
  readonly received: number;
  /** What the counting function writes once a stream batch, however many of the `streamRecords` job changes it holds. */
  readonly perStreamBatch: Tally;
  readonly streamRecords: number;
  readonly apiRequests: number;
  /** The handlers' log bytes, before Lambda's own lines. */
  readonly logBytes: number;
  readonly invocations: { readonly api: number; readonly worker: number; readonly taskRunner: number; readonly counter: number };
}

/** The same work with every worker batch of `batchSize` messages and every stream batch of `streamBatchSize` changes. */
export const atBatchSize = (usage: Usage, batchSize: number, streamBatchSize: number = STREAM_BATCH_AT_LOAD): Usage => {
  // what a batch pays once is then paid `full` times instead of `batches`
  const spread = (batches: number, full: number, shared: Tally, t: Tally): [Tally, Tally, number] =>
    batches === 0 ? [t, shared, 0] : [plus(t, shared, full / batches - 1), plus(EMPTY, shared, full / batches), full];
  const [workersFull, perBatch, worker] = spread(usage.invocations.worker, usage.received / batchSize, usage.perBatch, usage.tally);
  const [t, perStreamBatch, counter] = spread(usage.invocations.counter, usage.streamRecords / streamBatchSize, usage.perStreamBatch, workersFull);
  return { ...usage, tally: t, perBatch, perStreamBatch, invocations: { ...usage.invocations, worker, counter } };
};

export type Dollars = Readonly<Record<'dynamoDb' | 'sqs' | 'apiGateway' | 'lambda' | 'logs' | 'total', number>>;

/** US$ for `usage` spread over `jobs` jobs, times a million: the price of a million such jobs. */
export const perMillionJobs = ({ tally: t, invocations: inv, apiRequests, logBytes }: Usage, jobs: number): Dollars => {
  const functions = ['api', 'worker', 'taskRunner', 'counter'] as const;
  const p = PRICES;
  const invocations = sum(functions.map((f) => inv[f]));
  const gbSeconds = (LAMBDA.memoryGb * sum(functions.map((f) => inv[f] * LAMBDA.billedMs[f]))) / 1000;
  const perMillion = (usd: number) => (usd / jobs) * 1e6;
  const dynamoDb = perMillion((t.writeUnits * p.dynamoDbWritePerMillionUnits + t.readUnits * p.dynamoDbReadPerMillionUnits) / 1e6);
  const sqs = perMillion((t.sqsBilled * p.sqsPerMillionRequests) / 1e6);
  const apiGateway = perMillion((apiRequests * p.httpApiPerMillionRequests) / 1e6);
  const lambda = perMillion((invocations * p.lambdaPerMillionRequests) / 1e6 + gbSeconds * p.lambdaPerGbSecond);
  const logs = perMillion(((logBytes + invocations * LAMBDA.platformLogBytes) / 1e9) * p.logsIngestionPerGb);
  return { dynamoDb, sqs, apiGateway, lambda, logs, total: sum([dynamoDb, sqs, apiGateway, lambda, logs]) };
};

/** Shards of each index partition (REQUEUE_INDEX_SHARDS) and of the counters (COUNTER_SHARDS). */
export interface Shards {
  readonly index: number;
  readonly counters: number;
}

export const DEFAULT_SHARDS: Shards = { index: JOB_TABLE.indexShards, counters: COUNTER_SHARDS };

export interface Ceiling {
  /** The hottest families, ties all named, `*` for the shard. */
  readonly keys: string[];
  /** Their shards, and how many of them this run touched. */
  readonly shards: number;
  readonly shardsSeen: number;
  /** Write units a job of the family as a whole, and of one shard of it at load. */
  readonly unitsPerJob: number;
  readonly unitsPerJobPerShard: number;
  readonly jobsPerSecond: number;
}

const SHARDED_KEY = /^((?:byState|failedByName):(?:STATE|FAILED)#.+#|table:(?:COUNTS|THROUGHPUT)#)(\d+)$/;

/** The hottest partition key families (a key with its shard as `*`) and the jobs a second they allow at PARTITION_WCU_PER_SECOND. */
export const ceiling = (t: Tally, jobs: number, shards: Shards = DEFAULT_SHARDS): Ceiling => {
  const families = new Map<string, { shards: number; units: number; seen: Set<string> }>();
  for (const [key, n] of Object.entries(t.partitions)) {
    // each job's items are a partition of their own: only keys that jobs share cap their rate
    if (key.startsWith(`table:${jobKey('')[JOB_TABLE.partitionKey]}`)) continue;
    const [, family, shard] = SHARDED_KEY.exec(key) ?? [];
    const name = family ? `${family}*` : key;
    // index entries go to a shard of a hash of the job id, counter flushes to one at random
    const count = !family ? 1 : family.startsWith('table:') ? shards.counters : shards.index;
    if (!families.has(name)) families.set(name, { shards: count, units: 0, seen: new Set() });
    const entry = families.get(name)!;
    entry.units += n;
    if (shard !== undefined) entry.seen.add(shard);
  }
  const perShard = (f: { shards: number; units: number }) => f.units / f.shards;
  const top = Math.max(0, ...[...families.values()].map(perShard));
  const hottest = [...families.entries()].filter(([, f]) => perShard(f) === top).sort(([a], [b]) => a.localeCompare(b));
  const first = hottest[0]?.[1] ?? { shards: 1, units: 0, seen: new Set<string>() };
  const unitsPerJobPerShard = top / jobs;
  return {
    keys: hottest.map(([family]) => family),
    shards: first.shards,
    shardsSeen: first.seen.size,
    unitsPerJob: first.units / jobs,
    unitsPerJobPerShard,
    jobsPerSecond: unitsPerJobPerShard > 0 ? PARTITION_WCU_PER_SECOND / unitsPerJobPerShard : Infinity,
  };
};

/** The floor of this design, per job, as docs/COST.md states it; receives, deletes and invocations shared by `batchSize`. */
export const floorUsage = (attempts: number, deadLettered: boolean, batchSize = 1): Usage => ({
  tally: { ...EMPTY, writeUnits: 1 + 2 * attempts, sqsBilled: attempts * (1 + 2 / batchSize) + (deadLettered ? 1 : 0) },
  perBatch: EMPTY,
  perStreamBatch: EMPTY,
  received: attempts,
  streamRecords: 0,
  apiRequests: 1,
  logBytes: 0,
  invocations: { api: 1, worker: attempts / batchSize, taskRunner: 0, counter: 0 },
});
