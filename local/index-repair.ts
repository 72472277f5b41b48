import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * dynalite writes an item and its index entries as separate LevelDB writes:
 * the old entries' deletes, then the new entries, then the item. A process
 * killed between them (kill -9 of `npm start`) leaves an index that disagrees
 * with its table: an item missing from an index (a job `active` that no
 * byState query finds, so nothing ever re-sends it), an entry for a state the
 * item is no longer in, or an entry holding another version of the item.
 * DynamoDB itself never does this. The runtime now has dynalite write an
 * item and its index entries in one batch (`level-batches.ts`), which a kill
 * cannot tear; this check stays for folders an older requeue wrote.
 *
 * After such a stop, and before dynalite serves the folder, every index entry
 * each item should have is computed as dynalite computes it (its own key
 * functions; the projected attributes) and compared with what each index
 * holds; the differences are written in one LevelDB batch. Nothing else has
 * the files open then, so nothing can change under the check.
 */
export interface IndexRepairResult {
  /** Items read, over every table. */
  readonly items: number;
  /** Entries an item should have and its index lacked. */
  readonly missing: number;
  /** Entries an index held that no item accounts for. */
  readonly stray: number;
  /** Entries under the right key holding another version of their item. */
  readonly outdated: number;
}

type Stored = Record<string, Record<string, unknown>>;

interface KeyElement {
  readonly AttributeName: string;
}

interface IndexDefinition {
  readonly IndexName: string;
  readonly KeySchema: readonly KeyElement[];
  readonly Projection: { readonly ProjectionType: string; readonly NonKeyAttributes?: readonly string[] };
}

interface TableDefinition {
  readonly TableName: string;
  readonly KeySchema: readonly KeyElement[];
  readonly GlobalSecondaryIndexes?: readonly IndexDefinition[];
  readonly LocalSecondaryIndexes?: readonly IndexDefinition[];
}

interface LevelIterator<V> {
  nextv(size: number): Promise<[string, V][]>;
  close(): Promise<void>;
}

interface LevelDb {
  open(): Promise<void>;
  get(key: string): Promise<unknown>;
  iterator<V = unknown>(options: { gte: string; lt: string; valueEncoding?: 'utf8' }): LevelIterator<V>;
  batch(operations: ({ type: 'put'; key: string; value: unknown } | { type: 'del'; key: string })[]): Promise<void>;
  close(): Promise<void>;
}

interface DynaliteDbModule {
  createIndexKey(item: Stored, table: TableDefinition, keySchema: readonly KeyElement[]): string;
}

/**
 * dynalite's storage module and the LevelDB binding it opens its folder with,
 * resolved from the running script (under the project), as local/emulators.ts does.
 */
const loadDynalite = () => {
  const fromProject = createRequire(path.resolve(process.argv[1] ?? 'index.js'));
  const fromDynalite = createRequire(fromProject.resolve('dynalite/db'));
  const { Level } = fromDynalite('level') as { Level: new (location: string, options: { valueEncoding: 'json' }) => LevelDb };
  return { dynaliteDb: fromProject('dynalite/db') as DynaliteDbModule, open: (dir: string) => new Level(dir, { valueEncoding: 'json' }) };
};

/** Every key and value under `prefix`, read a thousand at a time; with `raw`, values as the JSON text stored. */
async function* under<V = unknown>(db: LevelDb, prefix: string, raw = false): AsyncGenerator<[string, V]> {
  const iterator = db.iterator<V>({ gte: prefix, lt: `${prefix}\xff`, ...(raw ? { valueEncoding: 'utf8' as const } : {}) });
  try {
    // the next thousand are read while these are looked at
    for (let reading = iterator.nextv(1000); ; ) {
      const entries = await reading;
      if (entries.length === 0) return;
      reading = iterator.nextv(1000);
      yield* entries;
    }
  } finally {
    await iterator.close();
  }
}

const digest = (json: string): string => createHash('sha1').update(json).digest('base64');

/** What dynalite stores in `index` for `item`: the whole item, or its projected attributes in dynalite's order. */
const projected = (item: Stored, table: TableDefinition, index: IndexDefinition): Stored => {
  if (index.Projection.ProjectionType === 'ALL') return item;
  const names = [...index.KeySchema, ...table.KeySchema].map((key) => key.AttributeName);
  names.push(...(index.Projection.NonKeyAttributes ?? []));
  return Object.fromEntries(names.filter((name) => item[name] !== undefined).map((name) => [name, item[name]!]));
};

/**
 * Check and mend the indexes of every table in dynalite's folder `dataDir`
 * (`onOpen` is told once the folder is open: no other process holds it). A
 * folder not made yet has nothing to check.
 */
export const repairIndexFiles = async (dataDir: string, onOpen: () => void = () => undefined): Promise<IndexRepairResult> => {
  const result = { items: 0, missing: 0, stray: 0, outdated: 0 };
  if (!existsSync(dataDir)) return result;
  const { dynaliteDb, open } = loadDynalite();
  const db = open(dataDir);
  try {
    await db.open();
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    if (cause?.code !== 'LEVEL_LOCKED') throw error;
    throw Object.assign(
      new Error(`The data folder ${dataDir} is in use by another requeue: stop it, or give this one another REQUEUE_DATA_DIR.`),
      { code: 'DATA_DIR_IN_USE' },
    );
  }
  onOpen();
  try {
    const tables: TableDefinition[] = [];
    for await (const [, table] of under(db, 'table~')) tables.push(table as TableDefinition);
    for (const table of tables) {
      const indexes = [
        ...(table.GlobalSecondaryIndexes ?? []).map((index) => ({ index, prefix: `index-global~${table.TableName}~${index.IndexName}~` })),
        ...(table.LocalSecondaryIndexes ?? []).map((index) => ({ index, prefix: `index-local~${table.TableName}~${index.IndexName}~` })),
      ];
      // per index: the entry each item should have, by key: a digest of the JSON dynalite would write, and the item's key
      const expected = indexes.map(() => new Map<string, { digest: string; itemKey: string }>());
      for await (const [itemKey, value] of under(db, `item-${table.TableName}~`)) {
        const item = value as Stored;
        result.items++;
        indexes.forEach(({ index }, i) => {
          if (!index.KeySchema.every((key) => item[key.AttributeName] != null)) return;
          expected[i]!.set(dynaliteDb.createIndexKey(item, table, index.KeySchema), {
            digest: digest(JSON.stringify(projected(item, table, index))),
            itemKey,
          });
        });
      }
      const fixes: Parameters<LevelDb['batch']>[0] = [];
      // the few items behind a fix are read again, rather than every item kept in memory
      const entryOf = async (itemKey: string, index: IndexDefinition) => projected((await db.get(itemKey)) as Stored, table, index);
      for (const [i, { index, prefix }] of indexes.entries()) {
        const wanted = expected[i]!;
        // entries as stored: dynalite wrote each as the JSON of the object it was given
        for await (const [key, stored] of under<string>(db, prefix, true)) {
          const entryKey = key.slice(prefix.length);
          const want = wanted.get(entryKey);
          if (want === undefined) {
            result.stray++;
            fixes.push({ type: 'del', key });
          } else if (want.digest !== digest(stored)) {
            result.outdated++;
            fixes.push({ type: 'put', key, value: await entryOf(want.itemKey, index) });
          }
          wanted.delete(entryKey);
        }
        for (const [entryKey, want] of wanted) {
          result.missing++;
          fixes.push({ type: 'put', key: prefix + entryKey, value: await entryOf(want.itemKey, index) });
        }
      }
      if (fixes.length > 0) await db.batch(fixes);
    }
  } finally {
    await db.close();
  }
  return result;
};
