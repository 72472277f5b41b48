/**
 * DynamoDB Streams for dynalite, which has none: a table created with a
 * `StreamSpecification` keeps a record of each change of an item, written
 * in the same LevelDB batch as the item and its index entries
 * (dynalite-patches.ts calls `recordOf` for it), so a record is never lost
 * nor made for a write that did not happen, kill -9 or not, as on AWS. The
 * records are served on dynalite's own port in the shape of the DynamoDB
 * Streams API (`DynamoDBStreams_20120810.*`: ListStreams, DescribeStream,
 * GetShardIterator, GetRecords), so a consumer reads them with
 * @aws-sdk/client-dynamodb-streams as it reads AWS's.
 *
 * Where it differs from AWS, on purpose:
 * - one shard per table, for ever (AWS splits and closes shards as a table
 *   grows): records come in the order their writes committed;
 * - a record is kept until its reader is done with it, not 24 hours: a
 *   GetShardIterator AFTER_SEQUENCE_NUMBER N trims the records up to N, since
 *   the one local consumer (local/stream-event-source.ts) asks for one from
 *   each checkpoint it writes. A table no one reads keeps every record (the
 *   test emulators, for tables whose test runs no consumer: in memory, as
 *   long as the emulator process);
 * - a write that changes nothing (a put of the same item) makes a record,
 *   where AWS makes none;
 * - a delete sent with the header `x-requeue-time-to-live: expired` (the
 *   stand-in for TTL, local/expire-items.ts) is marked as TTL's deletes are,
 *   with the DynamoDB service's `userIdentity`.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { DynaliteStore, LevelOperation, StoredItem, StoredTable } from './dynalite-patches';

const SEQUENCE_DIGITS = 21;
const SHARD_ID = 'shardId-00000000000000000001-00000001';
const MAX_RECORDS = 1000;
const MAX_RESPONSE_BYTES = 1024 * 1024;
const TTL_HEADER = 'x-requeue-time-to-live';
// as the Streams API spells it (a Lambda event spells it type, principalId)
const TTL_IDENTITY = { Type: 'Service', PrincipalId: 'dynamodb.amazonaws.com' };
const recordPrefix = (tableName: string) => `stream~${tableName}~`;
// the last sequence number handed out, kept beside the records: trimming them all must not start numbers again
const lastKey = (tableName: string) => `stream-last~${tableName}`;
const pad = (n: bigint | number) => String(n).padStart(SEQUENCE_DIGITS, '0');

type ViewType = 'KEYS_ONLY' | 'NEW_IMAGE' | 'OLD_IMAGE' | 'NEW_AND_OLD_IMAGES';

/** What CreateTable is to keep of a `StreamSpecification`, in dynalite's validation terms. */
export const STREAM_SPECIFICATION_VALIDATION = {
  type: 'FieldStruct<StreamSpecification>',
  children: {
    StreamEnabled: { type: 'Boolean', notNull: true },
    StreamViewType: { type: 'String', enum: ['KEYS_ONLY', 'NEW_IMAGE', 'OLD_IMAGE', 'NEW_AND_OLD_IMAGES'] },
  },
};

interface StreamRecord {
  readonly eventID: string;
  readonly eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  readonly eventVersion: '1.1';
  readonly eventSource: 'aws:dynamodb';
  readonly awsRegion: string;
  readonly dynamodb: {
    ApproximateCreationDateTime: number;
    Keys: StoredItem;
    NewImage?: StoredItem;
    OldImage?: StoredItem;
    SequenceNumber: string;
    StreamViewType: ViewType;
    SizeBytes?: number;
  };
  readonly userIdentity?: typeof TTL_IDENTITY;
}

/** The batch operations that keep the record of one change, and what to call once the batch is written. */
export interface ChangeRecord {
  readonly operations: readonly LevelOperation[];
  written(error?: Error | null): void;
}

export interface TableStreams {
  /** The store dynalite created: the records live in its LevelDB. */
  useStore(store: DynaliteStore): void;
  enabled(table: StoredTable): boolean;
  recordOf(
    store: DynaliteStore,
    table: StoredTable,
    existingItem: StoredItem | undefined,
    item: StoredItem | undefined,
    cb: (error: Error | null, record?: ChangeRecord) => void,
  ): void;
  /** Answer the Streams API on dynalite's server, in front of dynalite's own handler. */
  serve(server: Server): void;
}

/** Per table: the last number handed out, the numbers whose batch is not written yet, what was trimmed. */
interface TableState {
  last: bigint | undefined;
  loading: Promise<TableState> | undefined;
  readonly pending: Set<bigint>;
  trimmed: bigint;
}

class StreamsError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}
const notFound = (message: string) => new StreamsError('com.amazonaws.dynamodb.v20120810#ResourceNotFoundException', message);
const invalid = (message: string) => new StreamsError('com.amazon.coral.validate#ValidationException', message);

const canonicalKey = (key: StoredItem) => JSON.stringify(Object.keys(key).sort().map((name) => [name, key[name]]));
const streamLabel = (table: StoredTable) => new Date(table.CreationDateTime * 1000).toISOString().replace('Z', '');
const streamArnOf = (table: StoredTable) => `${table.TableArn}/stream/${streamLabel(table)}`;
const tableOfArn = (arn: unknown) => /^arn:aws:dynamodb:[^:]*:[^:]*:table\/([^/]+)\/stream\/[^/]+$/.exec(String(arn ?? ''))?.[1];
const SEQUENCE_NUMBER = /^[0-9]{1,40}$/;

const iteratorOf = (tableName: string, after: bigint) => Buffer.from(JSON.stringify({ t: tableName, a: String(after) })).toString('base64');
const readIterator = (text: unknown): { tableName: string; after: bigint } => {
  try {
    const { t, a } = JSON.parse(Buffer.from(String(text), 'base64').toString('utf8')) as { t?: unknown; a?: unknown };
    if (typeof t === 'string' && typeof a === 'string' && /^[0-9]+$/.test(a)) return { tableName: t, after: BigInt(a) };
  } catch {
    // not base64 JSON: refused below, as any other malformed iterator
  }
  throw invalid('Invalid ShardIterator');
};

const readJson = (req: IncomingMessage, onBody: (text: string) => void): void => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => onBody(Buffer.concat(chunks).toString('utf8')));
};

const send = (res: ServerResponse, status: number, body: unknown): void => {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/x-amz-json-1.0');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.setHeader('x-amzn-RequestId', randomBytes(26).toString('hex').toUpperCase());
  res.end(text);
};

export const createTableStreams = (): TableStreams => {
  let store: DynaliteStore | undefined;
  const storeOf = (): DynaliteStore => {
    if (!store) throw new Error('dynalite has not created its store yet');
    return store;
  };
  const tables = new Map<string, TableState>();
  const stateOf = (tableName: string): TableState => {
    let state = tables.get(tableName);
    if (!state) {
      state = { last: undefined, loading: undefined, pending: new Set(), trimmed: 0n };
      tables.set(tableName, state);
    }
    return state;
  };
  // Batches written side by side may land in either order, so the stored last number may be an earlier one's: the
  // newest record kept tells the rest. A trim stores the last number handed out before deleting any record.
  const readLast = async (tableName: string): Promise<bigint> => {
    const { db } = storeOf();
    const stored = (await db.get(lastKey(tableName))) as string | undefined;
    const prefix = recordPrefix(tableName);
    const [newest] = await db.keys({ gt: prefix, lt: `${prefix}~`, reverse: true, limit: 1 }).all();
    const kept = newest === undefined ? 0n : BigInt(newest.slice(prefix.length));
    const last = stored === undefined ? 0n : BigInt(stored);
    return last > kept ? last : kept;
  };
  const load = (tableName: string): Promise<TableState> => {
    const state = stateOf(tableName);
    if (state.last !== undefined) return Promise.resolve(state);
    state.loading ??= readLast(tableName).then(
      (last) => {
        state.last = last;
        return state;
      },
      (error: unknown) => {
        state.loading = undefined;
        throw error;
      },
    );
    return state.loading;
  };
  /** Records up to this number are all written: a reader never sees a later one before an earlier one. */
  const visibleThrough = (state: TableState): bigint => {
    let through = state.last ?? 0n;
    for (const n of state.pending) if (n - 1n < through) through = n - 1n;
    return through;
  };

  /** Table name and key of each expiry delete under way. */
  const expiring = new Set<string>();

  const enabled = (table: StoredTable) => Boolean(table.StreamSpecification?.StreamEnabled);

  const recordOf: TableStreams['recordOf'] = (writeStore, table, existingItem, item, cb) => {
    store ??= writeStore;
    load(table.TableName).then((state) => {
      const image = (item ?? existingItem)!;
      const keys = Object.fromEntries(table.KeySchema.map(({ AttributeName }) => [AttributeName, image[AttributeName]!]));
      const view = (table.StreamSpecification?.StreamViewType ?? 'NEW_AND_OLD_IMAGES') as ViewType;
      const n = state.last! + 1n;
      state.last = n;
      state.pending.add(n);
      const dynamodb: StreamRecord['dynamodb'] = {
        ApproximateCreationDateTime: Math.floor(Date.now() / 1000),
        Keys: keys,
        ...(item && (view === 'NEW_IMAGE' || view === 'NEW_AND_OLD_IMAGES') ? { NewImage: item } : {}),
        ...(existingItem && (view === 'OLD_IMAGE' || view === 'NEW_AND_OLD_IMAGES') ? { OldImage: existingItem } : {}),
        SequenceNumber: pad(n),
        StreamViewType: view,
      };
      dynamodb.SizeBytes = Buffer.byteLength(JSON.stringify([dynamodb.Keys, dynamodb.NewImage, dynamodb.OldImage]));
      const record: StreamRecord = {
        eventID: randomBytes(16).toString('hex'),
        eventName: !existingItem ? 'INSERT' : item ? 'MODIFY' : 'REMOVE',
        eventVersion: '1.1',
        eventSource: 'aws:dynamodb',
        awsRegion: storeOf().tableDb.awsRegion,
        dynamodb,
        ...(!item && expiring.has(`${table.TableName}\u0000${canonicalKey(keys)}`) ? { userIdentity: TTL_IDENTITY } : {}),
      };
      cb(null, {
        operations: [
          { type: 'put', key: recordPrefix(table.TableName) + pad(n), value: record },
          { type: 'put', key: lastKey(table.TableName), value: String(n) },
        ],
        written: () => state.pending.delete(n),
      });
    }, cb);
  };

  const streamedTable = async (name: string | undefined): Promise<StoredTable> => {
    const table =
      name &&
      (await new Promise<StoredTable | undefined>((resolve) =>
        storeOf().getTable(name, false, (error, found) => resolve(error ? undefined : found)),
      ));
    if (!table || !enabled(table)) throw notFound('Requested resource not found: Stream not found');
    return table;
  };
  const tableOfStream = async (arn: unknown): Promise<StoredTable> => {
    const table = await streamedTable(tableOfArn(arn));
    if (streamArnOf(table) !== arn) throw notFound('Requested resource not found: Stream not found');
    return table;
  };

  const trim = async (tableName: string, state: TableState, through: bigint): Promise<void> => {
    if (through <= state.trimmed) return;
    const { db } = storeOf();
    const prefix = recordPrefix(tableName);
    // from the last trim on: the keys deleted before it are tombstones that LevelDB would step over one by one
    const keys = await db.keys({ gt: prefix + pad(state.trimmed), lte: prefix + pad(through) }).all();
    await db.batch([{ type: 'put', key: lastKey(tableName), value: String(state.last) }, ...keys.map((key) => ({ type: 'del' as const, key }))]);
    state.trimmed = through;
  };

  type Input = Record<string, unknown>;
  const operations: Record<string, (input: Input) => Promise<unknown>> = {
    async ListStreams({ TableName }) {
      const names =
        typeof TableName === 'string' && TableName
          ? [TableName]
          : (await storeOf().db.keys({ gt: 'table~', lt: 'table~\uffff' }).all()).map((key) => key.slice('table~'.length));
      const streams = [];
      for (const name of names) {
        const table = await streamedTable(name).catch(() => undefined);
        if (table) streams.push({ StreamArn: streamArnOf(table), TableName: table.TableName, StreamLabel: streamLabel(table) });
      }
      return { Streams: streams };
    },
    async DescribeStream({ StreamArn }) {
      const table = await tableOfStream(StreamArn);
      return {
        StreamDescription: {
          StreamArn,
          StreamLabel: streamLabel(table),
          StreamStatus: 'ENABLED',
          StreamViewType: table.StreamSpecification!.StreamViewType,
          CreationRequestDateTime: table.CreationDateTime,
          TableName: table.TableName,
          KeySchema: table.KeySchema,
          Shards: [{ ShardId: SHARD_ID, SequenceNumberRange: { StartingSequenceNumber: pad(1) } }],
        },
      };
    },
    async GetShardIterator({ StreamArn, ShardId, ShardIteratorType, SequenceNumber }) {
      const table = await tableOfStream(StreamArn);
      if (ShardId !== SHARD_ID) throw notFound('Requested resource not found: Shard does not exist');
      const state = await load(table.TableName);
      const given = SEQUENCE_NUMBER.test(String(SequenceNumber)) ? BigInt(String(SequenceNumber)) : undefined;
      if (ShardIteratorType === 'AFTER_SEQUENCE_NUMBER' && given !== undefined) {
        await trim(table.TableName, state, given < visibleThrough(state) ? given : visibleThrough(state));
      }
      const sequence = () => {
        if (given === undefined) throw invalid(`SequenceNumber must be given with ${String(ShardIteratorType)}`);
        return given;
      };
      const after = {
        TRIM_HORIZON: () => 0n,
        LATEST: () => visibleThrough(state),
        AT_SEQUENCE_NUMBER: () => sequence() - 1n,
        AFTER_SEQUENCE_NUMBER: () => sequence(),
      }[String(ShardIteratorType)];
      if (!after) throw invalid('ShardIteratorType must be TRIM_HORIZON, LATEST, AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER');
      return { ShardIterator: iteratorOf(table.TableName, after()) };
    },
    async GetRecords({ ShardIterator, Limit }) {
      const { tableName, after } = readIterator(ShardIterator);
      const table = await streamedTable(tableName);
      const state = await load(table.TableName);
      const through = visibleThrough(state);
      const records: StreamRecord[] = [];
      let next = after;
      if (through > after) {
        const prefix = recordPrefix(table.TableName);
        const limit = Math.min(Number(Limit) || MAX_RECORDS, MAX_RECORDS);
        const entries = await storeOf()
          .db.iterator<StreamRecord>({ gt: prefix + pad(after), lte: prefix + pad(through), limit })
          .all();
        let bytes = 0;
        for (const [, record] of entries) {
          bytes += record.dynamodb.SizeBytes!;
          if (records.length > 0 && bytes > MAX_RESPONSE_BYTES) break;
          records.push(record);
          next = BigInt(record.dynamodb.SequenceNumber);
        }
      }
      return { Records: records, NextShardIterator: iteratorOf(table.TableName, next) };
    },
  };

  const answer = (req: IncomingMessage, res: ServerResponse, operation: string | undefined): void =>
    readJson(req, (text) => {
      let input: Input;
      try {
        input = JSON.parse(text || '{}') as Input;
      } catch {
        return send(res, 400, { __type: 'com.amazon.coral.service#SerializationException' });
      }
      const run = operation === undefined ? undefined : operations[operation];
      if (!run) return send(res, 400, { __type: 'com.amazon.coral.service#UnknownOperationException' });
      run(input).then(
        (output) => send(res, 200, output),
        (error: unknown) =>
          error instanceof StreamsError
            ? send(res, 400, { __type: error.type, message: error.message })
            : send(res, 500, { __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: String((error as Error | undefined)?.message) }),
      );
    });

  /** Note an expiry delete's key while its request is served, so its record is marked as TTL's. */
  const noteExpiry = (req: IncomingMessage, res: ServerResponse, dynaliteHandler: RequestListener): void => {
    // before dynalite's own listeners: its handler reads the body at the same end, after this
    readJson(req, (text) => {
      try {
        const { TableName, Key } = JSON.parse(text) as { TableName: string; Key: StoredItem };
        const noted = `${TableName}\u0000${canonicalKey(Key)}`;
        expiring.add(noted);
        res.once('close', () => expiring.delete(noted));
      } catch {
        // a malformed body: dynalite refuses the request itself
      }
    });
    dynaliteHandler(req, res);
  };

  const serve = (server: Server): void => {
    const [dynaliteHandler] = server.listeners('request') as RequestListener[];
    server.removeAllListeners('request');
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const [service, operation] = String(req.headers['x-amz-target'] ?? '').split('.');
      if (service === 'DynamoDBStreams_20120810') return answer(req, res, operation);
      if (req.headers[TTL_HEADER] === 'expired' && operation === 'DeleteItem') return noteExpiry(req, res, dynaliteHandler!);
      dynaliteHandler!(req, res);
    });
  };

  return { useStore: (created) => void (store = created), enabled, recordOf, serve };
};
