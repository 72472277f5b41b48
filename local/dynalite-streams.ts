/**
 * DynamoDB Streams for dynalite, which has none: a table created with a
 * `StreamSpecification` keeps a record of each change of an item, written
 * in the same LevelDB batch as the item and its index entries
 * (level-batches.ts calls `tableStreams.recordOf` for it), so a record is
 * never lost nor made for a write that did not happen, kill -9 or not, as on
 * AWS. The records are served on dynalite's own port in the shape of the
 * DynamoDB Streams API (`DynamoDBStreams_20120810.*`: ListStreams,
 * DescribeStream, GetShardIterator, GetRecords), so a consumer reads them
 * with @aws-sdk/client-dynamodb-streams as it reads AWS's.
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
 *
 * Source text, called with dynalite's module path before dynalite loads;
 * it returns `{ serve(server) }`, which answers the streams API on the server.
 */
export const KEEP_TABLE_STREAMS = `(function keepTableStreams (dynalitePath) {
  const { createRequire } = require('node:module');
  const { randomBytes } = require('node:crypto');
  const dynaliteRequire = createRequire(dynalitePath);
  const db = dynaliteRequire('./db');
  if (db.tableStreams) return db.tableStreams;
  // dynalite drops what its validation does not name: with this, CreateTable keeps the stream's settings on the table
  dynaliteRequire('./validations/createTable').types.StreamSpecification = {
    type: 'FieldStruct<StreamSpecification>',
    children: {
      StreamEnabled: { type: 'Boolean', notNull: true },
      StreamViewType: { type: 'String', enum: ['KEYS_ONLY', 'NEW_IMAGE', 'OLD_IMAGE', 'NEW_AND_OLD_IMAGES'] },
    },
  };
  let store;
  const create = db.create;
  db.create = function (options) {
    store = create.call(this, options);
    return store;
  };

  const SEQUENCE_DIGITS = 21;
  const SHARD_ID = 'shardId-00000000000000000001-00000001';
  const MAX_RECORDS = 1000;
  const MAX_RESPONSE_BYTES = 1024 * 1024;
  const TTL_HEADER = 'x-requeue-time-to-live';
  // as the Streams API spells it (a Lambda event spells it type, principalId)
  const TTL_IDENTITY = { Type: 'Service', PrincipalId: 'dynamodb.amazonaws.com' };
  const recordPrefix = (tableName) => 'stream~' + tableName + '~';
  // the last sequence number handed out, kept beside the records: trimming them all must not start numbers again
  const lastKey = (tableName) => 'stream-last~' + tableName;
  const pad = (n) => String(n).padStart(SEQUENCE_DIGITS, '0');

  /** Per table: the last number handed out, the numbers whose batch is not written yet, what was trimmed. */
  const tables = new Map();
  const stateOf = (tableName) => {
    let state = tables.get(tableName);
    if (!state) {
      state = { last: undefined, loading: undefined, pending: new Set(), trimmed: 0n };
      tables.set(tableName, state);
    }
    return state;
  };
  // Batches written side by side may land in either order, so the stored last number may be an earlier one's: the
  // newest record kept tells the rest. A trim stores the last number handed out before deleting any record.
  const readLast = async (tableName) => {
    const stored = await store.db.get(lastKey(tableName));
    const [newest] = await store.db.keys({ gt: recordPrefix(tableName), lt: recordPrefix(tableName) + '~', reverse: true, limit: 1 }).all();
    const kept = newest === undefined ? 0n : BigInt(newest.slice(recordPrefix(tableName).length));
    const last = stored === undefined ? 0n : BigInt(stored);
    return last > kept ? last : kept;
  };
  const load = (tableName) => {
    const state = stateOf(tableName);
    if (state.last !== undefined) return Promise.resolve(state);
    state.loading ??= readLast(tableName).then(
      (last) => {
        state.last = last;
        return state;
      },
      (error) => {
        state.loading = undefined;
        throw error;
      },
    );
    return state.loading;
  };
  /** Records up to this number are all written: a reader never sees a later one before an earlier one. */
  const visibleThrough = (state) => {
    let through = state.last ?? 0n;
    for (const n of state.pending) if (n - 1n < through) through = n - 1n;
    return through;
  };

  const canonicalKey = (key) => JSON.stringify(Object.keys(key).sort().map((name) => [name, key[name]]));
  /** Table name and key of each expiry delete under way. */
  const expiring = new Set();

  const enabled = (table) => Boolean(table.StreamSpecification && table.StreamSpecification.StreamEnabled);

  /**
   * The batch operations that keep the record of one change, and what to call once the batch is written (with its
   * error, if any).
   */
  const recordOf = (writeStore, table, existingItem, item, cb) => {
    store ??= writeStore;
    load(table.TableName).then((state) => {
      const image = item || existingItem;
      const keys = Object.fromEntries(table.KeySchema.map(({ AttributeName }) => [AttributeName, image[AttributeName]]));
      const view = table.StreamSpecification.StreamViewType || 'NEW_AND_OLD_IMAGES';
      const n = state.last + 1n;
      state.last = n;
      state.pending.add(n);
      const dynamodb = {
        ApproximateCreationDateTime: Math.floor(Date.now() / 1000),
        Keys: keys,
        ...(item && (view === 'NEW_IMAGE' || view === 'NEW_AND_OLD_IMAGES') ? { NewImage: item } : {}),
        ...(existingItem && (view === 'OLD_IMAGE' || view === 'NEW_AND_OLD_IMAGES') ? { OldImage: existingItem } : {}),
        SequenceNumber: pad(n),
        StreamViewType: view,
      };
      dynamodb.SizeBytes = Buffer.byteLength(JSON.stringify([dynamodb.Keys, dynamodb.NewImage, dynamodb.OldImage]));
      const record = {
        eventID: randomBytes(16).toString('hex'),
        eventName: !existingItem ? 'INSERT' : item ? 'MODIFY' : 'REMOVE',
        eventVersion: '1.1',
        eventSource: 'aws:dynamodb',
        awsRegion: store.tableDb.awsRegion,
        dynamodb,
        ...(!item && expiring.has(table.TableName + '\\u0000' + canonicalKey(keys)) ? { userIdentity: TTL_IDENTITY } : {}),
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

  const streamLabel = (table) => new Date(table.CreationDateTime * 1000).toISOString().replace('Z', '');
  const streamArnOf = (table) => table.TableArn + '/stream/' + streamLabel(table);
  const tableOfArn = (arn) => {
    const match = /^arn:aws:dynamodb:[^:]*:[^:]*:table\\/([^/]+)\\/stream\\/[^/]+$/.exec(String(arn || ''));
    return match && match[1];
  };

  class StreamsError extends Error {
    constructor(type, message) {
      super(message);
      this.type = type;
    }
  }
  const notFound = (message) => new StreamsError('com.amazonaws.dynamodb.v20120810#ResourceNotFoundException', message);
  const invalid = (message) => new StreamsError('com.amazon.coral.validate#ValidationException', message);

  const streamedTable = async (name) => {
    const table = name && (await new Promise((resolve) => store.getTable(name, false, (error, found) => resolve(error ? undefined : found))));
    if (!table || !enabled(table)) throw notFound('Requested resource not found: Stream not found');
    return table;
  };
  const tableOfStream = async (arn) => {
    const table = await streamedTable(tableOfArn(arn));
    if (streamArnOf(table) !== arn) throw notFound('Requested resource not found: Stream not found');
    return table;
  };

  const iteratorOf = (tableName, after) => Buffer.from(JSON.stringify({ t: tableName, a: String(after) })).toString('base64');
  const readIterator = (text) => {
    try {
      const { t, a } = JSON.parse(Buffer.from(String(text), 'base64').toString('utf8'));
      if (typeof t === 'string' && /^[0-9]+$/.test(a)) return { tableName: t, after: BigInt(a) };
    } catch {}
    throw invalid('Invalid ShardIterator');
  };

  const trim = async (tableName, state, through) => {
    if (through <= state.trimmed) return;
    const prefix = recordPrefix(tableName);
    // from the last trim on: the keys deleted before it are tombstones that LevelDB would step over one by one
    const keys = await store.db.keys({ gt: prefix + pad(state.trimmed), lte: prefix + pad(through) }).all();
    const operations = [{ type: 'put', key: lastKey(tableName), value: String(state.last) }, ...keys.map((key) => ({ type: 'del', key }))];
    await store.db.batch(operations);
    state.trimmed = through;
  };

  const operations = {
    async ListStreams({ TableName }) {
      const names = TableName ? [TableName] : (await store.db.keys({ gt: 'table~', lt: 'table~\\uffff' }).all()).map((key) => key.slice('table~'.length));
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
          StreamViewType: table.StreamSpecification.StreamViewType,
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
      if (ShardIteratorType === 'AFTER_SEQUENCE_NUMBER' && /^[0-9]{1,40}$/.test(String(SequenceNumber))) {
        const through = BigInt(SequenceNumber);
        await trim(table.TableName, state, through < visibleThrough(state) ? through : visibleThrough(state));
      }
      const sequence = () => {
        if (!/^[0-9]{1,40}$/.test(String(SequenceNumber))) throw invalid('SequenceNumber must be given with ' + ShardIteratorType);
        return BigInt(SequenceNumber);
      };
      const after = {
        TRIM_HORIZON: () => 0n,
        LATEST: () => visibleThrough(state),
        AT_SEQUENCE_NUMBER: () => sequence() - 1n,
        AFTER_SEQUENCE_NUMBER: () => sequence(),
      }[ShardIteratorType];
      if (!after) throw invalid('ShardIteratorType must be TRIM_HORIZON, LATEST, AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER');
      return { ShardIterator: iteratorOf(table.TableName, after()) };
    },
    async GetRecords({ ShardIterator, Limit }) {
      const { tableName, after } = readIterator(ShardIterator);
      const table = await streamedTable(tableName);
      const state = await load(table.TableName);
      const through = visibleThrough(state);
      const records = [];
      let next = after;
      if (through > after) {
        const prefix = recordPrefix(table.TableName);
        const limit = Math.min(Number(Limit) || MAX_RECORDS, MAX_RECORDS);
        const entries = await store.db.iterator({ gt: prefix + pad(after), lte: prefix + pad(through), limit }).all();
        let bytes = 0;
        for (const [, record] of entries) {
          bytes += record.dynamodb.SizeBytes;
          if (records.length > 0 && bytes > MAX_RESPONSE_BYTES) break;
          records.push(record);
          next = BigInt(record.dynamodb.SequenceNumber);
        }
      }
      return { Records: records, NextShardIterator: iteratorOf(table.TableName, next) };
    },
  };

  const send = (res, status, body) => {
    const text = JSON.stringify(body);
    res.statusCode = status;
    res.setHeader('Content-Type', 'application/x-amz-json-1.0');
    res.setHeader('Content-Length', Buffer.byteLength(text));
    res.setHeader('x-amzn-RequestId', randomBytes(26).toString('hex').toUpperCase());
    res.end(text);
  };
  const answer = (req, res, operation) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      let input;
      try {
        input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      } catch {
        return send(res, 400, { __type: 'com.amazon.coral.service#SerializationException' });
      }
      const run = operations[operation];
      if (!run) return send(res, 400, { __type: 'com.amazon.coral.service#UnknownOperationException' });
      run(input).then(
        (output) => send(res, 200, output),
        (error) =>
          error instanceof StreamsError
            ? send(res, 400, { __type: error.type, message: error.message })
            : send(res, 500, { __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: String(error && error.message) }),
      );
    });
  };

  /** Note an expiry delete's key while its request is served, so its record is marked as TTL's. */
  const noteExpiry = (req, res, dynaliteHandler) => {
    const chunks = [];
    // before dynalite's own listeners: its handler reads the body at the same end, after this
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      try {
        const { TableName, Key } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const noted = TableName + '\\u0000' + canonicalKey(Key);
        expiring.add(noted);
        res.once('close', () => expiring.delete(noted));
      } catch {}
    });
    dynaliteHandler(req, res);
  };

  const serve = (server) => {
    const [dynaliteHandler] = server.listeners('request');
    server.removeAllListeners('request');
    server.on('request', (req, res) => {
      const [service, operation] = String(req.headers['x-amz-target'] || '').split('.');
      if (service === 'DynamoDBStreams_20120810') return answer(req, res, operation);
      if (req.headers[TTL_HEADER] === 'expired' && operation === 'DeleteItem') return noteExpiry(req, res, dynaliteHandler);
      dynaliteHandler(req, res);
    });
  };

  db.tableStreams = { enabled, recordOf, serve };
  return db.tableStreams;
})`;
