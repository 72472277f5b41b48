import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';

/**
 * dynalite writes an item and its index entries as separate LevelDB writes:
 * the old entries' deletes, then the new entries, then the item. A process
 * killed between them (kill -9 of `npm start`) leaves an index that disagrees
 * with its table: an item missing from an index (a job `active` that no
 * byState query finds, so nothing ever re-sends it) or an entry for a state
 * the item is no longer in. DynamoDB itself never does this.
 *
 * After such a stop, every item's expected entries are compared with every
 * index's actual ones, and each difference is written away through dynalite
 * itself: it recomputes an item's entries from the item it replaces, so
 * - an item missing an entry is put again as it is;
 * - a stray entry is removed by putting the item with that entry's keys (or a
 *   stand-in when the item is gone) and then the item as it really is (or
 *   deleting the stand-in).
 * Runs before anything else writes to the table.
 */
export interface IndexRepairResult {
  /** Items read from the table. */
  readonly items: number;
  /** Entries an item should have and its index lacked. */
  readonly missing: number;
  /** Entries an index held that no item accounts for. */
  readonly stray: number;
}

interface IndexKeys {
  readonly name: string;
  readonly keys: readonly string[];
}

type Item = Record<string, unknown>;

const PAGE = 1000;

const scanAll = async (
  doc: DynamoDBDocumentClient,
  tableName: string,
  attributes: readonly string[],
  indexName?: string,
): Promise<Item[]> => {
  const items: Item[] = [];
  const names = Object.fromEntries(attributes.map((attribute, i) => [`#a${i}`, attribute]));
  let start: Item | undefined;
  do {
    const page = await doc.send(
      new ScanCommand({
        TableName: tableName,
        IndexName: indexName,
        ProjectionExpression: Object.keys(names).join(', '),
        ExpressionAttributeNames: names,
        ExclusiveStartKey: start,
        Limit: PAGE,
      }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
};

export const repairIndexes = async (client: DynamoDBClient, tableName: string): Promise<IndexRepairResult> => {
  const doc = DynamoDBDocumentClient.from(client);
  const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
  const tableKeys = (Table?.KeySchema ?? []).map((key) => key.AttributeName!);
  const indexes: IndexKeys[] = [...(Table?.GlobalSecondaryIndexes ?? []), ...(Table?.LocalSecondaryIndexes ?? [])].map(
    (index) => ({ name: index.IndexName!, keys: (index.KeySchema ?? []).map((key) => key.AttributeName!) }),
  );
  if (indexes.length === 0) return { items: 0, missing: 0, stray: 0 };

  const identity = (item: Item, keys: readonly string[]) => JSON.stringify(keys.map((key) => item[key] ?? null));
  const hasKeys = (item: Item, keys: readonly string[]) => keys.every((key) => item[key] !== undefined);
  const allKeys = [...new Set([...tableKeys, ...indexes.flatMap((index) => index.keys)])];

  const items = await scanAll(doc, tableName, allKeys);
  const byTableKey = new Map(items.map((item) => [identity(item, tableKeys), item]));
  const rewrite = new Set<string>();
  let missing = 0;
  let stray = 0;

  for (const index of indexes) {
    const entryKeys = [...index.keys, ...tableKeys];
    const entries = await scanAll(doc, tableName, entryKeys, index.name);
    const actual = new Set(entries.map((entry) => identity(entry, entryKeys)));
    for (const item of items) {
      if (hasKeys(item, index.keys) && !actual.has(identity(item, entryKeys))) {
        missing++;
        rewrite.add(identity(item, tableKeys));
      }
    }
    for (const entry of entries) {
      const owner = byTableKey.get(identity(entry, tableKeys));
      if (owner && hasKeys(owner, index.keys) && identity(owner, entryKeys) === identity(entry, entryKeys)) continue;
      stray++;
      // the entry's item as dynalite would have to see it to delete that entry
      const key = Object.fromEntries(tableKeys.map((name) => [name, entry[name]]));
      const current = (await doc.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }))).Item;
      await doc.send(new PutCommand({ TableName: tableName, Item: { ...(current ?? {}), ...entry } }));
      if (current) await doc.send(new PutCommand({ TableName: tableName, Item: current }));
      else await doc.send(new DeleteCommand({ TableName: tableName, Key: key }));
      rewrite.delete(identity(entry, tableKeys));
    }
  }

  for (const id of rewrite) {
    const key = Object.fromEntries(tableKeys.map((name) => [name, byTableKey.get(id)![name]]));
    const current = (await doc.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }))).Item;
    if (current) await doc.send(new PutCommand({ TableName: tableName, Item: current }));
  }
  return { items: items.length, missing, stray };
};
