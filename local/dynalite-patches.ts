/**
 * dynalite as the local runtime runs it: dynalite 4 with four changes made
 * to its private modules before it serves a request. This is the one place
 * that reaches into them; `dynaliteMismatches` names what each change
 * relies on, and the dynalite thread refuses to start (as
 * test/local/dynalite-internals.test.ts fails) when an upgrade of dynalite
 * moved any of it.
 *
 * 1. An item and its index entries in one LevelDB batch. dynalite writes
 *    them as separate LevelDB writes, one after another: the old index
 *    entries deleted, the new ones put, then the item. A process killed
 *    between two of them (kill -9 of `npm start`) leaves the table torn: an
 *    item without its index entry (a job `active` that no byState query
 *    finds, so nothing ever re-sends it), or an entry of a state the item
 *    left; DynamoDB itself never does this. `updateIndexes`, which PutItem,
 *    UpdateItem and DeleteItem (and BatchWriteItem through them) call once
 *    they hold the item's lock and have checked its condition, is made to
 *    write the index changes and the item itself in one batch, atomic in
 *    LevelDB's log; the item write the action makes next is then skipped, as
 *    already done. A table with a stream has the record of the change
 *    written in that batch too.
 * 2. Streams (dynalite-streams.ts): CreateTable keeps a table's
 *    `StreamSpecification`, and the Streams API is answered on dynalite's
 *    port.
 * 3. Iterators closed. dynalite reads LevelDB through streams over
 *    abstract-level iterators and closes an iterator, when its stream ends
 *    or is destroyed, by calling `iterator.return()`, which abstract-level 3
 *    iterators lack: every Query and Scan left its LevelDB iterator open
 *    until the database closed. An open iterator pins the memtable and the
 *    table files it started on, so the process kept every table file
 *    LevelDB ever wrote, mapped into memory, and old memtables besides
 *    (40,000 jobs: 430 MB of table files on disk for 46 MB of data, RSS 112
 *    -> 718 MB). The iterators of dynalite's own abstract-level get that
 *    `return()`, and close once they have read their last entry.
 * 4. Item sizes as DynamoDB counts them. DynamoDB counts an item's size,
 *    against its 400 KB limit, in UTF-8 bytes of every attribute name and
 *    string; dynalite counts their JavaScript length, UTF-16 code units, so a
 *    string of 140,000 '€' (420,000 bytes) passes locally and is refused on
 *    AWS. `itemSize`, which PutItem, UpdateItem and BatchWriteItem check
 *    against the limit, counts UTF-8 bytes; numbers, binaries and the
 *    compressed sizes of its Query and Scan limits keep dynalite's own
 *    reckoning.
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createTableStreams, STREAM_SPECIFICATION_VALIDATION, type ChangeRecord, type TableStreams } from './dynalite-streams';

/** The dynalite these changes were written against: another version is refused until they are checked against it. */
export const DYNALITE_VERSION = '4.0.0';

export type AttributeValue = Record<string, unknown>;
export type StoredItem = Record<string, AttributeValue>;

export type LevelOperation = { type: 'put'; key: string; value: unknown } | { type: 'del'; key: string };

interface KeySchemaElement {
  readonly AttributeName: string;
}

/** A table's description as dynalite keeps it. */
export interface StoredTable {
  readonly TableName: string;
  readonly TableArn: string;
  readonly CreationDateTime: number;
  readonly KeySchema: readonly KeySchemaElement[];
  readonly LocalSecondaryIndexes?: readonly unknown[];
  readonly GlobalSecondaryIndexes?: readonly unknown[];
  readonly StreamSpecification?: { readonly StreamEnabled: boolean; readonly StreamViewType?: string };
}

type Callback<T = void> = (error: Error | null, value?: T) => void;

interface LevelRange {
  gt?: string;
  lt?: string;
  lte?: string;
  reverse?: boolean;
  limit?: number;
}

/** dynalite's LevelDB: abstract-level's promise API, with dynalite's callback forms beside it. */
interface LevelDb {
  get(key: string): Promise<unknown>;
  keys(range: LevelRange): { all(): Promise<string[]> };
  iterator<V>(range: LevelRange): { all(): Promise<[string, V][]> };
  batch(operations: readonly LevelOperation[]): Promise<void>;
  batch(operations: readonly LevelOperation[], callback: (error?: Error | null) => void): void;
  open(): Promise<void>;
}

/** A table's items, under dynalite's `item-<table>~` prefix. */
interface ItemDb {
  put(key: string, value: StoredItem, callback: Callback): void;
  del(key: string, callback: Callback): void;
  /** Set once its writes are wrapped, below. */
  skipsWritesDone?: boolean;
}

/** What `db.create` returns. */
export interface DynaliteStore {
  readonly db: LevelDb;
  readonly tableDb: { readonly awsRegion: string };
  getItemDb(tableName: string): ItemDb;
  getTable(name: string, checkStatus: boolean, cb: Callback<StoredTable>): void;
}

interface IndexAction {
  readonly index: string;
  readonly key: string;
  readonly item?: StoredItem;
}

type UpdateIndexes = ((
  store: DynaliteStore,
  table: StoredTable,
  existingItem: StoredItem | undefined,
  item: StoredItem | undefined,
  cb: Callback,
) => void) & { writesItems?: true };

type ItemSize = ((item: StoredItem, compress?: boolean, addMetaSize?: boolean, rangeKey?: string) => number) & { countsUtf8?: true };

/** dynalite/db/index.js: the exports the changes call or replace. */
interface DynaliteDbModule {
  create(options: DynaliteOptions): DynaliteStore;
  createKey(item: StoredItem, table: StoredTable): string;
  getIndexActions(indexes: readonly unknown[], existingItem: StoredItem | undefined, item: StoredItem | undefined, table: StoredTable): {
    puts: IndexAction[];
    deletes: IndexAction[];
  };
  updateIndexes: UpdateIndexes;
  itemSize: ItemSize;
  /** Set once the changes are made: a second call finds them there. */
  requeuePatched?: PatchedDynalite;
}

interface IteratorPrototype {
  next(): Promise<unknown>;
  close(): Promise<void>;
  return?: () => Promise<{ done: true; value: undefined }>;
}

export interface DynaliteOptions {
  path?: string;
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
  maxItemSizeKb?: number;
}

export interface PatchedDynalite {
  /** dynalite's server factory, its store changed as described above. */
  readonly dynalite: (options?: DynaliteOptions) => Server;
  /** Answer the Streams API on a server `dynalite` made. */
  readonly serveStreams: (server: Server) => void;
  /** The store of the last server made: its LevelDB, opened by dynalite as the server is made. */
  readonly store: () => DynaliteStore | undefined;
}

/** dynalite's modules, loaded by Node's own require from dynalite's folder (`modulePath`: its resolved entry). */
const dynaliteModules = (modulePath: string) => {
  const fromDynalite = createRequire(modulePath);
  // abstract-level as dynalite loads it: dynalite -> level -> classic-level -> abstract-level
  const from = (base: string, name: string) => createRequire(base).resolve(name);
  const abstractLevel = from(from(from(modulePath, 'level'), 'classic-level'), 'abstract-level');
  return {
    folder: path.dirname(modulePath),
    db: fromDynalite('./db') as DynaliteDbModule,
    createTableTypes: (fromDynalite('./validations/createTable') as { types: Record<string, unknown> }).types,
    abstractLevel: fromDynalite(abstractLevel) as { AbstractValueIterator?: { prototype: object } },
    dynalite: () => fromDynalite(modulePath) as PatchedDynalite['dynalite'],
  };
};

/** The iterator prototype dynalite's value streams call `return()` on. */
const iteratorPrototype = (abstractLevel: ReturnType<typeof dynaliteModules>['abstractLevel']): IteratorPrototype | undefined => {
  const valueIterator = abstractLevel.AbstractValueIterator?.prototype;
  return valueIterator && (Object.getPrototypeOf(valueIterator) as IteratorPrototype);
};

/**
 * What the changes rely on and the installed dynalite no longer has, each as a sentence; none when it matches.
 * Checked before any change is made, so a mismatch is told rather than patched over.
 */
export const dynaliteMismatches = (modulePath: string): string[] => {
  const problems: string[] = [];
  const folder = path.dirname(modulePath);
  const { version } = JSON.parse(readFileSync(path.join(folder, 'package.json'), 'utf8')) as { version: string };
  if (version !== DYNALITE_VERSION) {
    problems.push(`dynalite is ${version}; local/dynalite-patches.ts was written against ${DYNALITE_VERSION}`);
  }
  let modules: ReturnType<typeof dynaliteModules>;
  try {
    modules = dynaliteModules(modulePath);
  } catch (error) {
    return [...problems, `dynalite's modules did not load as expected: ${(error as Error).message}`];
  }
  const { db, createTableTypes, abstractLevel } = modules;
  for (const [name, arity] of [['create', 1], ['createKey', 3], ['getIndexActions', 4], ['updateIndexes', 5], ['itemSize', 4]] as const) {
    const fn = (db as unknown as Record<string, unknown>)[name];
    if (typeof fn !== 'function') problems.push(`dynalite/db exports no function ${name}`);
    // a patched one takes its arguments as dynalite's does, but says so by its flag, not its length
    else if (!db.requeuePatched && fn.length !== arity) problems.push(`dynalite/db ${name} takes ${fn.length} arguments, not ${arity}`);
  }
  if (typeof createTableTypes !== 'object' || createTableTypes === null || !('TableName' in createTableTypes)) {
    problems.push("dynalite/validations/createTable has no table of types to add StreamSpecification to");
  }
  // the actions write the item after updateIndexes, under the same lock: what lets the batch write it first
  const writesAfterIndexes: [string, RegExp][] = [
    ['putItem', /db\.updateIndexes\(store, table, existingItem, data\.Item,[^]*?itemDb\.put\(key, data\.Item,/],
    ['updateItem', /db\.itemSize\(item\) > store\.options\.maxItemSize[^]*?db\.updateIndexes\(store, table, oldItem, item,[^]*?itemDb\.put\(key, item,/],
    ['deleteItem', /db\.updateIndexes\(store, table, existingItem, null,[^]*?itemDb\.del\(key,/],
  ];
  for (const [action, pattern] of writesAfterIndexes) {
    const source = readFileSync(path.join(folder, 'actions', `${action}.js`), 'utf8');
    if (!pattern.test(source)) problems.push(`dynalite/actions/${action}.js no longer writes its item after db.updateIndexes as expected`);
  }
  const dbSource = readFileSync(path.join(folder, 'db', 'index.js'), 'utf8');
  // the keys the batch writes itself, as dynalite's prefixed sub-databases write them
  if (!dbSource.includes("getSubDb('item-' + name)") || !dbSource.includes("getSubDb('index-' + indexType.toLowerCase() + '~' + tableName + '~' + indexName)")) {
    problems.push('dynalite/db names its item and index sub-databases otherwise than item-<table> and index-<type>~<table>~<index>');
  }
  if (!dbSource.includes("createPrefixedDbWrapper(db, name + '~'")) problems.push("dynalite/db no longer prefixes a sub-database's keys with <name>~");
  const prototype = iteratorPrototype(abstractLevel);
  if (!prototype || typeof prototype.next !== 'function' || typeof prototype.close !== 'function') {
    problems.push("abstract-level, as dynalite loads it, has no iterator prototype with next() and close()");
  }
  return problems;
};

/** An error naming every mismatch, for whoever starts dynalite. */
export class DynaliteMismatchError extends Error {
  constructor(readonly mismatches: readonly string[]) {
    super(`The installed dynalite does not match local/dynalite-patches.ts:\n- ${mismatches.join('\n- ')}`);
    this.name = 'DynaliteMismatchError';
  }
}

const closeLevelIterators = (prototype: IteratorPrototype): void => {
  if (typeof prototype.return === 'function') return;
  prototype.return = async function (this: IteratorPrototype) {
    await this.close();
    return { done: true, value: undefined };
  };
  const next = prototype.next;
  prototype.next = async function (this: IteratorPrototype) {
    const entry = await next.call(this);
    if (entry === undefined) await this.close();
    return entry;
  };
};

const writeItemsWithTheirIndexes = (db: DynaliteDbModule, streams: TableStreams): void => {
  // what dynalite's prefixed sub-databases put before a key (db/index.js getItemDb, getIndexDb)
  const itemPrefix = (table: StoredTable) => `item-${table.TableName}~`;
  const indexPrefix = (type: string, table: StoredTable, index: string) => `index-${type.toLowerCase()}~${table.TableName}~${index}~`;
  // items put, and keys deleted, by a batch: the action's own write of them comes next, under the same lock
  const put = new WeakSet<StoredItem>();
  const deleted = new Set<string>();
  const skipWritesDone = (itemDb: ItemDb, tableName: string): void => {
    if (itemDb.skipsWritesDone) return;
    const putItem = itemDb.put;
    const delItem = itemDb.del;
    itemDb.put = function (this: ItemDb, key, value, callback) {
      if (put.has(value)) {
        put.delete(value);
        return void setImmediate(callback, null);
      }
      return putItem.call(this, key, value, callback);
    };
    itemDb.del = function (this: ItemDb, key, callback) {
      if (deleted.delete(`${tableName}\u0000${key}`)) return void setImmediate(callback, null);
      return delItem.call(this, key, callback);
    };
    itemDb.skipsWritesDone = true;
  };
  const writeBatch = (
    store: DynaliteStore,
    table: StoredTable,
    existingItem: StoredItem | undefined,
    item: StoredItem | undefined,
    stream: ChangeRecord | undefined,
    cb: Callback,
  ): void => {
    const operations: LevelOperation[] = [];
    for (const type of ['Local', 'Global'] as const) {
      const { puts, deletes } = db.getIndexActions(table[`${type}SecondaryIndexes`] ?? [], existingItem, item, table);
      for (const action of deletes) operations.push({ type: 'del', key: indexPrefix(type, table, action.index) + action.key });
      for (const action of puts) operations.push({ type: 'put', key: indexPrefix(type, table, action.index) + action.key, value: action.item });
    }
    const key = db.createKey((item ?? existingItem)!, table);
    operations.push(item ? { type: 'put', key: itemPrefix(table) + key, value: item } : { type: 'del', key: itemPrefix(table) + key });
    if (stream) operations.push(...stream.operations);
    skipWritesDone(store.getItemDb(table.TableName), table.TableName);
    store.db.batch(operations, (error) => {
      stream?.written(error);
      if (!error) {
        if (item) put.add(item);
        else deleted.add(`${table.TableName}\u0000${key}`);
      }
      cb(error ?? null);
    });
  };
  const updateIndexes: UpdateIndexes = (store, table, existingItem, item, cb) => {
    if (!existingItem && !item) return cb(null);
    if (!streams.enabled(table)) return writeBatch(store, table, existingItem, item, undefined, cb);
    // a table with a stream: the change's record goes in the same batch
    streams.recordOf(store, table, existingItem, item, (error, record) => {
      if (error) return cb(error);
      writeBatch(store, table, existingItem, item, record, cb);
    });
  };
  updateIndexes.writesItems = true;
  db.updateIndexes = updateIndexes;
};

const countItemSizesInUtf8 = (db: DynaliteDbModule): void => {
  const dynaliteSize = db.itemSize;
  const utf8 = (text: string) => Buffer.byteLength(text, 'utf8');
  // a number's size, or any value without strings in it, as dynalite has it: less the one-letter name
  const asDynalite = (value: AttributeValue) => dynaliteSize({ x: value }) - 1;
  const valueSize = (value: AttributeValue): number => {
    if (value.S !== undefined) return utf8(value.S as string);
    if (value.SS !== undefined) return (value.SS as string[]).reduce((sum, s) => sum + utf8(s), 0);
    if (value.L !== undefined) return 3 + (value.L as AttributeValue[]).reduce((sum, v) => sum + 1 + valueSize(v), 0);
    if (value.M !== undefined) return 3 + Object.keys(value.M as StoredItem).length + itemSize(value.M as StoredItem);
    return asDynalite(value);
  };
  const itemSize = (item: StoredItem): number => Object.keys(item).reduce((sum, name) => sum + utf8(name) + valueSize(item[name]!), 0);
  const countingUtf8: ItemSize = function (this: unknown, item, compress, addMetaSize, rangeKey) {
    return compress || addMetaSize ? dynaliteSize.call(this, item, compress, addMetaSize, rangeKey) : itemSize(item);
  };
  countingUtf8.countsUtf8 = true;
  db.itemSize = countingUtf8;
};

/**
 * dynalite, loaded from `modulePath` (its resolved entry) with the changes above made, once per process: a second
 * call returns the first's. Throws DynaliteMismatchError, changing nothing, when dynalite is not what they expect.
 */
export const patchDynalite = (modulePath: string): PatchedDynalite => {
  const modules = dynaliteModules(modulePath);
  const { db } = modules;
  if (db.requeuePatched) return db.requeuePatched;
  const mismatches = dynaliteMismatches(modulePath);
  if (mismatches.length > 0) throw new DynaliteMismatchError(mismatches);

  closeLevelIterators(iteratorPrototype(modules.abstractLevel)!);
  const streams = createTableStreams();
  // dynalite drops what its validation does not name: with this, CreateTable keeps the stream's settings on the table
  modules.createTableTypes.StreamSpecification = STREAM_SPECIFICATION_VALIDATION;
  let store: DynaliteStore | undefined;
  const create = db.create;
  db.create = function (this: unknown, options) {
    store = create.call(this, options);
    streams.useStore(store);
    return store;
  };
  writeItemsWithTheirIndexes(db, streams);
  countItemSizesInUtf8(db);

  db.requeuePatched = { dynalite: modules.dynalite(), serveStreams: streams.serve, store: () => store };
  return db.requeuePatched;
};
