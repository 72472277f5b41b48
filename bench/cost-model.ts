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
import { WRITES, type CountedRequest, type Item } from './cost-counter';

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

const price = (item: keyof typeof PRICE_ROWS): number => PRICE_ROWS[item][0];

/**
 * Durations are timings, so each invocation is billed an assumed time, at every function's memory in infra/.
 * Lambda's own START, END and REPORT records: some 300 bytes an invocation at the system log level INFO, none at
 * the functions' WARN.
 */
export const LAMBDA = {
  memoryGb: 0.5,
  billedMs: { api: 50, worker: 100, taskRunner: 1_000, counter: 100 },
  platformLogBytes: DEFAULT_SYSTEM_LOG_LEVEL === 'WARN' ? 0 : 300,
} as const;

type LambdaFunction = keyof typeof LAMBDA.billedMs;

/** A busy stream's batches: the counting function's BatchSize. */
const STREAM_BATCH = JOB_CHANGES_COUNTER.batchSize;

/** A partition's write units a second. */
export const PARTITION_WCU_PER_SECOND = 1_000;

/** Every index: its key attributes and the attributes an entry keeps. */
const INDEXES = createTableInput('cost').GlobalSecondaryIndexes!.map(({ IndexName, KeySchema, Projection }) => {
  const keys = KeySchema!.map((k) => k.AttributeName!);
  const kept = [JOB_TABLE.partitionKey, JOB_TABLE.sortKey, ...keys, ...(Projection?.NonKeyAttributes ?? [])];
  return { name: IndexName!, keys, kept: Projection?.ProjectionType === 'ALL' ? undefined : new Set(kept) };
});

const units = (bytes: number) => Math.max(1, Math.ceil(bytes / 1024));
const size = (item: Item | null | undefined) => (item ? itemSize(item) : 0);
const partition = (item: Item, attribute: string) => String(item[attribute]?.S ?? item[attribute]?.N ?? '');
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
export const sum = (ns: readonly number[]): number => ns.reduce((a, b) => a + b, 0);

/** An item's entry in an index, as the index stores it; none when the item lacks a key attribute of it (sparse). */
const indexEntry = (item: Item | null, { keys, kept }: (typeof INDEXES)[number]): Item | undefined => {
  if (!item || keys.some((k) => item[k] === undefined)) return undefined;
  return kept ? Object.fromEntries(Object.entries(item).filter(([name]) => kept.has(name))) : item;
};

/** What an index entry's change costs: a changed entry under the same key its units, a moved one a delete and a put. */
const entryCharges = (old: Item | undefined, next: Item | undefined, keys: readonly string[]) => {
  if (old && next && keys.every((k) => same(old[k], next[k]))) {
    return same(old, next) ? [] : [[next, units(Math.max(size(old), size(next)))] as const];
  }
  return [old, next].flatMap((entry) => (entry ? [[entry, units(size(entry))] as const] : []));
};

/**
 * A write's units: the larger of the item before and after, per 1 KB; each
 * index entry put, changed or deleted its own; a write refused by its
 * condition its table units alone. `partitions`: `<table or index>:<key value>`.
 */
export const writeUnits = (request: CountedRequest) => {
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

/** AWS bills each key as a GetItem of the whole item, per 4 KB (a missing one as 1), half if eventually consistent. */
export const batchGetReadUnits = (request: CountedRequest): number =>
  sum((request.itemBytes ?? []).map((bytes) => Math.max(1, Math.ceil(bytes / 4096)))) * (request.consistent ? 1 : 0.5);

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

const READS = new Set(['GetItem', 'Query', 'BatchGetItem']);

const add = (into: Record<string, number>, key: string, n: number) => {
  into[key] = (into[key] ?? 0) + n;
};

/** The requests' units, each request's `weight` times. */
export const tally = (requests: readonly CountedRequest[], weight = (_: CountedRequest) => 1): Tally => {
  const t = { requests: {}, writeUnits: 0, indexWriteUnits: 0, readUnits: 0, sqsBilled: 0, partitions: {} };
  for (const r of requests) {
    const w = weight(r);
    add(t.requests, `${r.service} ${r.operation}`, w);
    // an operation the counter does not size would be priced at nothing
    if (r.service === 'dynamodb' && !WRITES.has(r.operation) && !READS.has(r.operation)) {
      throw new Error(`the cost model does not size DynamoDB ${r.operation} yet (bench/cost-counter.ts)`);
    }
    if (r.service === 'sqs') {
      t.sqsBilled += w * Math.max(1, Math.ceil((r.bytes ?? 0) / (64 * 1024)));
    } else if (!WRITES.has(r.operation)) {
      t.readUnits += w * (r.operation === 'BatchGetItem' ? batchGetReadUnits(r) : (r.readUnits ?? 0));
    } else {
      const write = writeUnits(r);
      t.writeUnits += w * (write.table + write.indexes);
      t.indexWriteUnits += w * write.indexes;
      for (const [key, n] of write.partitions) add(t.partitions, key, w * n);
    }
  }
  return t;
};

/** What a bill is made of. */
export interface Billable {
  readonly tally: Tally;
  readonly invocations: Readonly<Record<LambdaFunction, number>>;
  /** The handlers' log bytes, before Lambda's own lines. */
  readonly logBytes: number;
}

/** A phase of the run: its requests, and the messages and job changes its worker and stream batches held. */
export interface Usage extends Billable {
  /** Stream reads left out: they are free to a Lambda trigger. */
  readonly requests: readonly CountedRequest[];
  readonly received: number;
  readonly streamRecords: number;
}

/** As local/main.ts provisions them. */
const MAIN_QUEUE = 'requeue-jobs';
const TASK_QUEUE = 'requeue-jobs-tasks';

export const fromEventSource = (r: CountedRequest, operation: string, queue = MAIN_QUEUE): boolean =>
  r.caller === 'local:event-source' && r.operation === operation && r.queue === queue;

const isCounterWrite = (r: CountedRequest) =>
  /^(COUNTS|THROUGHPUT)#/.test((r.after ?? r.before ?? r.offered)?.[JOB_TABLE.partitionKey]?.S ?? '');

/**
 * The function a request is paid once an invocation by, whatever the batch
 * holds: a worker batch its event source's receive and delete, its hiding and
 * its counter writes; a stream batch the counting function's writes.
 */
const paidOnceBy = (r: CountedRequest): 'worker' | 'counter' | undefined => {
  if (r.caller === JOB_CHANGES_COUNTER.handler) return 'counter';
  const eventSource = fromEventSource(r, 'ReceiveMessage') || fromEventSource(r, 'DeleteMessageBatch');
  const worker = r.caller === 'worker' && (r.operation === 'ChangeMessageVisibilityBatch' || isCounterWrite(r));
  return eventSource || worker ? 'worker' : undefined;
};

export const usageOf = (rs: readonly CountedRequest[], apiRequests: number, logBytes: number): Usage => {
  const batches = (queue: string) => rs.filter((r) => fromEventSource(r, 'ReceiveMessage', queue) && r.messages! > 0);
  const requests = rs.filter((r) => r.service !== 'dynamodb-streams');
  // a counting batch names itself on the counter items it writes (one netting to nothing would write nothing and be
  // missed: each of the workload's ends jobs)
  const counting = requests.filter((r) => r.caller === JOB_CHANGES_COUNTER.handler && r.after?.lastBatch);
  const invocations = {
    api: apiRequests,
    worker: batches(MAIN_QUEUE).length,
    taskRunner: batches(TASK_QUEUE).length,
    counter: new Set(counting.map((r) => r.after!.lastBatch!.S)).size,
  };
  const received = sum(batches(MAIN_QUEUE).map((r) => r.messages!));
  const streamRecords = sum(rs.map((r) => r.records ?? 0));
  return { requests, tally: tally(requests), invocations, logBytes, received, streamRecords };
};

/** The same work with every worker batch of `batchSize` messages, every stream batch of `streamBatchSize` changes. */
export const atBatchSize = (usage: Usage, batchSize: number, streamBatchSize: number = STREAM_BATCH) => {
  const full = { worker: usage.received / batchSize, counter: usage.streamRecords / streamBatchSize };
  // what a batch pays once is then paid once a full batch instead of once a batch of the run
  const weight = (r: CountedRequest) => {
    const by = paidOnceBy(r);
    return by ? full[by] / usage.invocations[by] : 1;
  };
  const invocations = { ...usage.invocations, ...full };
  return { tally: tally(usage.requests, weight), invocations, logBytes: usage.logBytes } satisfies Billable;
};

/** US$ for `usage` spread over `jobs` jobs, times a million: the price of a million such jobs. */
export const perMillionJobs = ({ tally: t, invocations: inv, logBytes }: Billable, jobs: number) => {
  const functions = Object.keys(LAMBDA.billedMs) as LambdaFunction[];
  const invocations = sum(functions.map((f) => inv[f]));
  const gbSeconds = (LAMBDA.memoryGb * sum(functions.map((f) => inv[f] * LAMBDA.billedMs[f]))) / 1000;
  const perMillion = (usd: number) => (usd / jobs) * 1e6;
  const writes = t.writeUnits * price('dynamoDbWritePerMillionUnits');
  const dynamoDb = perMillion((writes + t.readUnits * price('dynamoDbReadPerMillionUnits')) / 1e6);
  const sqs = perMillion((t.sqsBilled * price('sqsPerMillionRequests')) / 1e6);
  const apiGateway = perMillion((inv.api * price('httpApiPerMillionRequests')) / 1e6);
  const compute = gbSeconds * price('lambdaPerGbSecond');
  const lambda = perMillion((invocations * price('lambdaPerMillionRequests')) / 1e6 + compute);
  const logs = perMillion(((logBytes + invocations * LAMBDA.platformLogBytes) / 1e9) * price('logsIngestionPerGb'));
  return { dynamoDb, sqs, apiGateway, lambda, logs, total: sum([dynamoDb, sqs, apiGateway, lambda, logs]) };
};

/** Shards of each index partition (REQUEUE_INDEX_SHARDS) and of the counters (COUNTER_SHARDS). */
export type Shards = Readonly<Record<'index' | 'counters', number>>;

export const DEFAULT_SHARDS: Shards = { index: JOB_TABLE.indexShards, counters: COUNTER_SHARDS };

const SHARDED_KEY = /^((?:byState|failedByName):(?:STATE|FAILED)#.+#|table:(?:COUNTS|THROUGHPUT)#)(\d+)$/;

/**
 * The hottest partition key families (a key with its shard as `*`, ties all
 * named), their shards and how many this run touched, their write units a
 * job as a whole and on one shard at load, and the jobs a second that allows
 * at PARTITION_WCU_PER_SECOND.
 */
export const ceiling = (t: Tally, jobs: number, shards: Shards = DEFAULT_SHARDS) => {
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

/** The floor of this design, per job, as docs/COST.md states it: receives, deletes, invocations shared by a batch. */
export const floorUsage = (attempts: number, deadLettered: boolean, batchSize: number): Billable => ({
  tally: {
    ...tally([]),
    writeUnits: 1 + 2 * attempts,
    sqsBilled: attempts * (1 + 2 / batchSize) + (deadLettered ? 1 : 0),
  },
  invocations: { api: 1, worker: attempts / batchSize, taskRunner: 0, counter: 0 },
  logBytes: 0,
});
