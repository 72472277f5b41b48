import path from 'node:path';

/**
 * Direct access to the LevelDB files of a stopped local runtime, through
 * dynalite's own storage module: for tests that need the table in a state
 * only a crash leaves, such as an item and its index entries apart.
 */
type Callback<T> = (error: Error | null, value: T) => void;
type AttributeValue = Record<string, unknown>;
export type StoredItem = Record<string, AttributeValue>;

interface SubDb {
  get(key: string, cb: Callback<StoredItem>): void;
  put(key: string, value: StoredItem, cb: Callback<void>): void;
  del(key: string, cb: Callback<void>): void;
}

interface KeySchemaElement {
  AttributeName: string;
}

interface StoredTable {
  KeySchema: KeySchemaElement[];
  GlobalSecondaryIndexes?: { IndexName: string; KeySchema: KeySchemaElement[] }[];
}

interface DynaliteStore {
  db: { close(): Promise<void> };
  getTable(name: string, cb: Callback<StoredTable>): void;
  getItemDb(table: string): SubDb;
  getIndexDb(kind: 'global', table: string, index: string): SubDb;
}

interface DynaliteDb {
  create(options: { path: string }): DynaliteStore;
  createKey(item: StoredItem, table: StoredTable, keySchema?: KeySchemaElement[]): string;
  createIndexKey(item: StoredItem, table: StoredTable, keySchema: KeySchemaElement[]): string;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynaliteDb = require('dynalite/db') as DynaliteDb;

const call = <T>(fn: (cb: Callback<T>) => void): Promise<T> =>
  new Promise((resolve, reject) => fn((error, value) => (error ? reject(error) : resolve(value))));

export interface StoredTableFiles {
  /** The item, in DynamoDB's attribute-value form. */
  item(key: Record<string, string>): Promise<StoredItem>;
  /** Write the item alone, leaving every index as it was. */
  putItemOnly(item: StoredItem): Promise<void>;
  /** Write an index entry for `item` (a copy of it, as with an ALL projection), leaving the item as it is. */
  putIndexEntry(index: string, item: StoredItem): Promise<void>;
  /** Remove the index entry `item` has in `index`, leaving the item as it is. */
  deleteIndexEntry(index: string, item: StoredItem): Promise<void>;
  close(): Promise<void>;
}

/** Open the table `tableName` of the runtime whose data folder is `dataDir` (stopped: LevelDB allows one user). */
export const openStoredTable = async (dataDir: string, tableName: string): Promise<StoredTableFiles> => {
  const store = dynaliteDb.create({ path: path.join(dataDir, 'dynamodb') });
  const table = await call<StoredTable>((cb) => store.getTable(tableName, cb));
  const indexSchema = (name: string) => {
    const index = table.GlobalSecondaryIndexes?.find((candidate) => candidate.IndexName === name);
    if (!index) throw new Error(`no index ${name} on ${tableName}`);
    return index.KeySchema;
  };
  const items = store.getItemDb(tableName);
  const toStored = (key: Record<string, string>): StoredItem =>
    Object.fromEntries(Object.entries(key).map(([name, value]) => [name, { S: value }]));
  return {
    item: (key) => call((cb) => items.get(dynaliteDb.createKey(toStored(key), table), cb)),
    putItemOnly: (item) => call((cb) => items.put(dynaliteDb.createKey(item, table), item, cb)),
    putIndexEntry: (index, item) =>
      call((cb) =>
        store.getIndexDb('global', tableName, index).put(dynaliteDb.createIndexKey(item, table, indexSchema(index)), item, cb),
      ),
    deleteIndexEntry: (index, item) =>
      call((cb) => store.getIndexDb('global', tableName, index).del(dynaliteDb.createIndexKey(item, table, indexSchema(index)), cb)),
    close: () => store.db.close(),
  };
};
