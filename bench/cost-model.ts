/**
 * What the requests counted by bench/cost-counter.ts cost on AWS: capacity
 * units as DynamoDB bills them, requests as SQS, API Gateway and Lambda bill
 * them, priced from one table. Pure: the test asserts it exactly.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { jobKey } from '../lambda/adapters/dynamodb-job-item';
import { COUNTER_SHARDS } from '../lambda/adapters/dynamodb-job-counters';
import { createTableInput, JOB_TABLE } from '../lambda/adapters/table-schema';
import { itemSize } from '../lambda/adapters/dynamodb-item-size';
import { DEFAULT_SYSTEM_LOG_LEVEL } from '../infra/requeue-function';
import { JOB_CHANGES_COUNTER } from '../lambda/routes';
import type { CountedRequest } from './cost-counter';

type Item = Record<string, AttributeValue>;

/** us-east-1 list prices, US$, as stated for PRICES_AS_OF (the sources are in docs/COST.md). */
export const PRICES = {
  asOf: '2026-12-02',
  dynamoDbWritePerMillionUnits: 0.625,
  dynamoDbReadPerMillionUnits: 0.125,
  sqsPerMillionRequests: 0.4,
  httpApiPerMillionRequests: 1.0,
  lambdaPerMillionRequests: 0.2,
  /** arm64, as infra/requeue-function.ts deploys every function. */
  lambdaPerGbSecond: 0.0000133334,
  logsIngestionPerGb: 0.5,
} as const;

/**
 * Durations are timings, so each invocation is billed a fixed assumed time:
 * what a warm function of 512 MB (every function's memory in infra/) takes
 * for one request or one batch against DynamoDB and SQS in-region.
 */
export const LAMBDA = {
  memoryGb: 0.5,
  billedMs: { api: 50, worker: 100, taskRunner: 1_000, reconciler: 500, counter: 100 },
  /**
   * Bytes of the START, END and REPORT records Lambda itself logs per
   * invocation: none at the functions' system log level (WARN, see
   * infra/requeue-function.ts), about 300 at INFO.
   */
  platformLogBytes: DEFAULT_SYSTEM_LOG_LEVEL === 'WARN' ? 0 : 300,
} as const;

export const PARTITION_WCU_PER_SECOND = 1_000;
const SQS_CHUNK_BYTES = 64 * 1024;

/** Every index with its key attributes and what it projects. */
const INDEXES = (createTableInput('cost').GlobalSecondaryIndexes ?? []).map((index) => ({
  name: index.IndexName!,
  keys: index.KeySchema!.map((k) => k.AttributeName!),
  projection: index.Projection?.ProjectionType ?? 'ALL',
  include: index.Projection?.NonKeyAttributes ?? [],
}));
const TABLE_KEYS = [JOB_TABLE.partitionKey, JOB_TABLE.sortKey];

const writeUnitsOf = (bytes: number) => Math.max(1, Math.ceil(bytes / 1024));
const size = (item: Item | null | undefined) => (item ? itemSize(item) : 0);
const partition = (item: Item, attribute: string) => String(item[attribute]?.S ?? item[attribute]?.N ?? '');

/** An item's entry in an index, as the index stores it; none when the item lacks a key attribute of it (sparse). */
const indexEntry = (item: Item | null | undefined, index: (typeof INDEXES)[number]): Item | undefined => {
  if (!item || index.keys.some((k) => item[k] === undefined)) return undefined;
  if (index.projection === 'ALL') return item;
  const kept = new Set([...TABLE_KEYS, ...index.keys, ...(index.projection === 'INCLUDE' ? index.include : [])]);
  return Object.fromEntries(Object.entries(item).filter(([name]) => kept.has(name)));
};

export interface WriteUnits {
  readonly table: number;
  readonly indexes: number;
  /** Units by partition key, `<table or index>:<key value>`. */
  readonly partitions: ReadonlyArray<readonly [string, number]>;
}

/**
 * A write's units: the larger of the item before and after, per 1 KB; then for
 * each index an entry put, changed or deleted costs its own units, and a
 * changed index key is a delete of the old entry plus a put of the new. A
 * write refused by its condition costs its table units and touches no index.
 */
export const writeUnits = (request: CountedRequest): WriteUnits => {
  const before = request.before ?? null;
  const key = (request.after ?? before ?? request.offered)!;
  const pk = `table:${partition(key, JOB_TABLE.partitionKey)}`;
  if (request.failed) {
    const table = writeUnitsOf(Math.max(size(before), size(request.offered)));
    return { table, indexes: 0, partitions: [[pk, table]] };
  }
  const after = request.after ?? null;
  const table = writeUnitsOf(Math.max(size(before), size(after)));
  const partitions: Array<[string, number]> = [[pk, table]];
  let indexes = 0;
  const charge = (index: string, entry: Item, units: number) => {
    indexes += units;
    partitions.push([`${index}:${partition(entry, INDEXES.find((i) => i.name === index)!.keys[0]!)}`, units]);
  };
  for (const index of INDEXES) {
    const old = indexEntry(before, index);
    const next = indexEntry(after, index);
    const sameKey = old && next && index.keys.every((k) => JSON.stringify(old[k]) === JSON.stringify(next[k]));
    if (old && next && sameKey) {
      if (JSON.stringify(old) !== JSON.stringify(next)) charge(index.name, next, writeUnitsOf(Math.max(size(old), size(next))));
      continue;
    }
    if (old) charge(index.name, old, writeUnitsOf(size(old)));
    if (next) charge(index.name, next, writeUnitsOf(size(next)));
  }
  return { table, indexes, partitions };
};

/** SQS bills each 64 KiB of a request's payload as one request. */
export const sqsRequests = (request: CountedRequest): number => Math.max(1, Math.ceil((request.bytes ?? 0) / SQS_CHUNK_BYTES));

/**
 * A BatchGetItem's read units as AWS bills them: each key as a GetItem of the
 * whole item, rounded up to 4 KB (a key with no item too, as one), half for
 * an eventually consistent read
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html).
 */
export const batchGetReadUnits = (request: CountedRequest): number =>
  (request.itemBytes ?? []).reduce((sum, bytes) => sum + Math.max(1, Math.ceil(bytes / 4096)), 0) * (request.consistent ? 1 : 0.5);

const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem']);
const SIZED = new Set([...WRITES, 'GetItem', 'Query', 'BatchGetItem']);

export interface Tally {
  /** Requests by `<service> <operation>`. */
  readonly requests: Record<string, number>;
  readonly writeUnits: number;
  readonly indexWriteUnits: number;
  readonly readUnits: number;
  /** SQS requests as billed (per 64 KiB chunk). */
  readonly sqsBilled: number;
  readonly partitions: Record<string, number>;
}

export const EMPTY_TALLY: Tally = { requests: {}, writeUnits: 0, indexWriteUnits: 0, readUnits: 0, sqsBilled: 0, partitions: {} };

/** `a + f × b`, field by field. */
const combine = (a: Tally, b: Tally, f: number): Tally => {
  const add = (x: Record<string, number>, y: Record<string, number>) => {
    const out = { ...x };
    for (const [k, v] of Object.entries(y)) out[k] = (out[k] ?? 0) + f * v;
    return out;
  };
  return {
    requests: add(a.requests, b.requests),
    writeUnits: a.writeUnits + f * b.writeUnits,
    indexWriteUnits: a.indexWriteUnits + f * b.indexWriteUnits,
    readUnits: a.readUnits + f * b.readUnits,
    sqsBilled: a.sqsBilled + f * b.sqsBilled,
    partitions: add(a.partitions, b.partitions),
  };
};

/**
 * The same work with every worker batch full, `batchSize` messages each, as
 * the event source mapping hands them over when the queue is busy: what is
 * paid per batch is shared by that many messages. Counts stay exact: a batch
 * of 10 for 10 messages, where the bench ran 10 batches of one.
 */
export const atBatchSize = (usage: Usage, batchSize: number, streamBatchSize: number = STREAM_BATCH_AT_LOAD): Usage => {
  const spread = (batches: number, full: number, shared: Tally, t: Tally) =>
    batches === 0 ? { tally: t, shared } : { tally: combine(t, shared, full / batches - 1), shared: combine(EMPTY_TALLY, shared, full / batches) };
  const worker = spread(usage.invocations.worker, usage.received / batchSize, usage.perBatch, usage.tally);
  const stream = spread(usage.invocations.counter, usage.streamRecords / streamBatchSize, usage.perStreamBatch, worker.tally);
  return {
    ...usage,
    tally: stream.tally,
    perBatch: worker.shared,
    perStreamBatch: stream.shared,
    invocations: {
      ...usage.invocations,
      worker: usage.invocations.worker === 0 ? 0 : usage.received / batchSize,
      counter: usage.invocations.counter === 0 ? 0 : usage.streamRecords / streamBatchSize,
    },
  };
};

/**
 * Changes a busy table's stream hands the counting function at once: its
 * mapping's BatchSize, as full as a worker batch is at load; reached at about
 * 200 changes a second per stream shard (the window is 5 s), some 70 jobs a
 * second. The report also prices batches a tenth as full.
 */
export const STREAM_BATCH_AT_LOAD = JOB_CHANGES_COUNTER.batchSize;

export const tally = (requests: readonly CountedRequest[]): Tally => {
  const counts: Record<string, number> = {};
  const partitions: Record<string, number> = {};
  let writeUnitsTotal = 0;
  let indexWriteUnits = 0;
  let readUnits = 0;
  let sqsBilled = 0;
  for (const request of requests) {
    const name = `${request.service} ${request.operation}`;
    counts[name] = (counts[name] ?? 0) + 1;
    if (request.service === 'dynamodb' && !SIZED.has(request.operation)) {
      // an operation the counter does not size would be priced at nothing
      throw new Error(`the cost model does not size DynamoDB ${request.operation} yet (bench/cost-counter.ts)`);
    }
    if (request.service === 'sqs') sqsBilled += sqsRequests(request);
    else if (WRITES.has(request.operation)) {
      const units = writeUnits(request);
      writeUnitsTotal += units.table + units.indexes;
      indexWriteUnits += units.indexes;
      for (const [key, n] of units.partitions) partitions[key] = (partitions[key] ?? 0) + n;
    } else if (request.operation === 'BatchGetItem') readUnits += batchGetReadUnits(request);
    else readUnits += request.readUnits ?? 0;
  }
  return { requests: counts, writeUnits: writeUnitsTotal, indexWriteUnits, readUnits, sqsBilled, partitions };
};

export interface Usage {
  readonly tally: Tally;
  /**
   * The part of `tally` a worker batch pays once however many messages it
   * holds: the event source's receive and delete, the worker's one request to
   * hide the messages it returns, its counter writes.
   */
  readonly perBatch: Tally;
  /** Main-queue messages the worker was handed, over all its invocations. */
  readonly received: number;
  /** What the counting function wrote, once a stream batch however many changes it holds. */
  readonly perStreamBatch: Tally;
  /** Changes of job items the table's stream handed it. */
  readonly streamRecords: number;
  /** HTTP API requests. */
  readonly apiRequests: number;
  /** `counter`: the invocations of the function that counts from the table's stream, one a batch. */
  readonly invocations: { readonly api: number; readonly worker: number; readonly taskRunner: number; readonly counter: number };
  /** Log bytes the handlers wrote (the runtime's output), before Lambda's own lines. */
  readonly logBytes: number;
}

export interface Dollars {
  readonly dynamoDb: number;
  readonly sqs: number;
  readonly apiGateway: number;
  readonly lambda: number;
  readonly logs: number;
  readonly total: number;
}

/** US$ for `usage` spread over `jobs` jobs, times a million: the price of a million such jobs. */
export const perMillionJobs = (usage: Usage, jobs: number): Dollars => {
  const { invocations: inv } = usage;
  const invocations = inv.api + inv.worker + inv.taskRunner + inv.counter;
  const gbSeconds =
    (LAMBDA.memoryGb *
      (inv.api * LAMBDA.billedMs.api +
        inv.worker * LAMBDA.billedMs.worker +
        inv.taskRunner * LAMBDA.billedMs.taskRunner +
        inv.counter * LAMBDA.billedMs.counter)) /
    1000;
  const perJob = {
    dynamoDb: (usage.tally.writeUnits * PRICES.dynamoDbWritePerMillionUnits + usage.tally.readUnits * PRICES.dynamoDbReadPerMillionUnits) / 1e6,
    sqs: (usage.tally.sqsBilled * PRICES.sqsPerMillionRequests) / 1e6,
    apiGateway: (usage.apiRequests * PRICES.httpApiPerMillionRequests) / 1e6,
    lambda: (invocations * PRICES.lambdaPerMillionRequests) / 1e6 + gbSeconds * PRICES.lambdaPerGbSecond,
    logs: ((usage.logBytes + invocations * LAMBDA.platformLogBytes) / 1e9) * PRICES.logsIngestionPerGb,
  };
  const scale = (n: number) => (n / jobs) * 1e6;
  const dollars = Object.fromEntries(Object.entries(perJob).map(([k, v]) => [k, scale(v)])) as Omit<Dollars, 'total'>;
  return { ...dollars, total: Object.values(dollars).reduce((a, b) => a + b, 0) };
};

export interface Shards {
  /** Of each index partition (REQUEUE_INDEX_SHARDS). */
  readonly index: number;
  /** Of the counters (COUNTER_SHARDS, a constant of lambda/adapters/dynamodb-job-counters.ts). */
  readonly counters: number;
}

export const DEFAULT_SHARDS: Shards = { index: JOB_TABLE.indexShards, counters: COUNTER_SHARDS };

/**
 * A partition key's family, the key with its shard replaced by `*`, and how
 * many shards the family has; keys that are not sharded are their own family
 * of one. Shards are picked by a hash of the job id (indexes) or at random
 * (counters), so at load each takes its family's units over its shards.
 */
const familyOf = (key: string, shards: Shards): { family: string; shards: number; shard?: string } => {
  const index = /^((?:byState|failedByName):(?:STATE|FAILED)#.+#)(\d+)$/.exec(key);
  if (index) return { family: `${index[1]}*`, shards: shards.index, shard: index[2] };
  const counter = /^(table:(?:COUNTS|THROUGHPUT)#)(\d+)$/.exec(key);
  if (counter) return { family: `${counter[1]}*`, shards: shards.counters, shard: counter[2] };
  return { family: key, shards: 1 };
};

export interface Ceiling {
  /** The hottest families (ties all named), `*` for the shard. */
  readonly keys: string[];
  /** Their shards, and how many of them this run's keys touched. */
  readonly shards: number;
  readonly shardsSeen: number;
  /** Write units a job of the family as a whole, and of one shard of it at load. */
  readonly unitsPerJob: number;
  readonly unitsPerJobPerShard: number;
  readonly jobsPerSecond: number;
}

/** The hottest partition key families and the jobs a second they allow at PARTITION_WCU_PER_SECOND. */
export const ceiling = (t: Tally, jobs: number, shards: Shards = DEFAULT_SHARDS): Ceiling => {
  const families = new Map<string, { shards: number; units: number; seen: Set<string> }>();
  for (const [key, units] of Object.entries(t.partitions)) {
    // each job's items are a partition of their own: only keys that jobs share cap their rate
    if (key.startsWith(`table:${jobKey('')[JOB_TABLE.partitionKey]}`)) continue;
    const { family, shards: n, shard } = familyOf(key, shards);
    const entry = families.get(family) ?? { shards: n, units: 0, seen: new Set<string>() };
    entry.units += units;
    if (shard !== undefined) entry.seen.add(shard);
    families.set(family, entry);
  }
  const perShard = (f: { shards: number; units: number }) => f.units / f.shards;
  const top = Math.max(0, ...[...families.values()].map(perShard));
  const hottest = [...families.entries()].filter(([, f]) => perShard(f) === top).sort(([a], [b]) => a.localeCompare(b));
  const [, first] = hottest[0] ?? [undefined, { shards: 1, units: 0, seen: new Set<string>() }];
  const unitsPerJobPerShard = top / jobs;
  return {
    keys: hottest.map(([family]) => family),
    shards: first!.shards,
    shardsSeen: first!.seen.size,
    unitsPerJob: first!.units / jobs,
    unitsPerJobPerShard,
    jobsPerSecond: unitsPerJobPerShard > 0 ? PARTITION_WCU_PER_SECOND / unitsPerJobPerShard : Infinity,
  };
};

/**
 * The floor of this design, per job: record it, fence each execution, record
 * each outcome — one write of a small item (≤ 1 KB, no index entry) each, so
 * 1 + 2 × attempts write units; the SQS send, receive and delete of each
 * attempt's message (the receive and delete shared by a batch of
 * `batchSize`); one API request; the API's invocation and a worker batch's per
 * attempt, shared likewise; Lambda's own log lines; a failed job's
 * dead-letter copy.
 */
export const floorUsage = (attempts: number, deadLettered: boolean, batchSize = 1): Usage => ({
  tally: {
    requests: {},
    writeUnits: 1 + 2 * attempts,
    indexWriteUnits: 0,
    readUnits: 0,
    sqsBilled: attempts * (1 + 2 / batchSize) + (deadLettered ? 1 : 0),
    partitions: {},
  },
  perBatch: EMPTY_TALLY,
  received: attempts,
  perStreamBatch: EMPTY_TALLY,
  streamRecords: 0,
  apiRequests: 1,
  invocations: { api: 1, worker: attempts / batchSize, taskRunner: 0, counter: 0 },
  logBytes: 0,
});
