import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { JOB_TABLE } from '../../lambda/adapters/table-schema';
import { WRITE_ITEMS_WITH_THEIR_INDEXES } from '../../local/level-batches';
import { CLOSE_LEVEL_ITERATORS } from '../../local/level-iterators';
import { startInProcessDynalite, type InProcessDynalite } from '../support/in-process-dynalite';

// dynalite as the local runtime's dynalite thread runs it, in this process, its LevelDB writes recorded

interface Operation {
  readonly type: 'put' | 'del';
  readonly key: string;
}
interface MainDb {
  put(key: string, value: unknown, callback: (error?: Error) => void): void;
  del(key: string, callback: (error?: Error) => void): void;
  batch(operations: Operation[], callback: (error?: Error) => void): void;
}

const TABLE = 'jobs';
const { stateIndex, failedByNameIndex } = JOB_TABLE;
/** The item and index writes of one request, each as `put <sub-database>`, a batch as an array of them. */
let writes: (string | string[])[] = [];
// keys are `item-<table>~<key>` and `index-global~<table>~<index>~<key>`
const describeOperation = (type: string, key: string) =>
  `${type} ${key.split('~').slice(0, key.startsWith('item-') ? 1 : 3).join('~')}`;

const dir = mkdtempSync(path.join(os.tmpdir(), 'requeue-batches-'));
let dynamo: InProcessDynalite;
let client: DynamoDBClient;

const recordLevelWrites = () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const dbModule = require('dynalite/db') as { create: (options: unknown) => { db: MainDb } };
  const create = dbModule.create;
  dbModule.create = (options) => {
    const store = create(options);
    const { put, del, batch } = store.db;
    const record = (type: string, key: string) => {
      if (key.startsWith('item-') || key.startsWith('index-')) writes.push(describeOperation(type, key));
    };
    store.db.put = (key, value, callback) => (record('put', key), put.call(store.db, key, value, callback));
    store.db.del = (key, callback) => (record('del', key), del.call(store.db, key, callback));
    store.db.batch = (operations, callback) => {
      writes.push(operations.map((o) => describeOperation(o.type, o.key)));
      return batch.call(store.db, operations, callback);
    };
    return store;
  };
};

beforeAll(async () => {
  // as the dynalite thread does before it loads dynalite
  dynamo = await startInProcessDynalite(TABLE, {
    path: dir,
    patches: [CLOSE_LEVEL_ITERATORS, WRITE_ITEMS_WITH_THEIR_INDEXES],
    beforeStart: recordLevelWrites,
  });
  client = dynamo.client;
});

afterAll(async () => {
  await dynamo?.stop();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  writes = [];
});

const key = { pk: { S: 'JOB#1' }, sk: { S: 'JOB' } };
const inState = async (partition: string) =>
  (
    await client.send(
      new QueryCommand({
        TableName: TABLE,
        IndexName: stateIndex.name,
        KeyConditionExpression: '#p = :p',
        ExpressionAttributeNames: { '#p': stateIndex.partitionKey },
        ExpressionAttributeValues: { ':p': { S: partition } },
      }),
    )
  ).Items?.map((item) => item.pk!.S);

describe("dynalite's writes in the local runtime", () => {
  it('put an item and its index entries in one batch', async () => {
    await client.send(
      new PutItemCommand({
        TableName: TABLE,
        Item: {
          ...key,
          state: { S: 'failed' },
          [stateIndex.partitionKey]: { S: 'STATE#failed' },
          [stateIndex.sortKey]: { S: '999999999999994#1' },
          [failedByNameIndex.partitionKey]: { S: 'FAILED#email' },
          [failedByNameIndex.sortKey]: { S: '999999999999994#1' },
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    expect(writes).toEqual([['put index-global~jobs~byState', 'put index-global~jobs~failedByName', 'put item-jobs']]);
    expect(await inState('STATE#failed')).toEqual(['JOB#1']);
  });

  it('update an item, delete the index entries it leaves and put the new one, in one batch', async () => {
    await client.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: key,
        UpdateExpression: 'SET #state = :waiting, #spk = :spk, #ssk = :now REMOVE #npk, #nsk',
        ConditionExpression: '#state = :failed',
        ExpressionAttributeNames: {
          '#state': 'state',
          '#spk': stateIndex.partitionKey,
          '#ssk': stateIndex.sortKey,
          '#npk': failedByNameIndex.partitionKey,
          '#nsk': failedByNameIndex.sortKey,
        },
        ExpressionAttributeValues: { ':waiting': { S: 'waiting' }, ':failed': { S: 'failed' }, ':spk': { S: 'STATE#waiting' }, ':now': { S: '000000000000006#1' } },
      }),
    );
    expect(writes).toEqual([
      ['del index-global~jobs~byState', 'del index-global~jobs~failedByName', 'put index-global~jobs~byState', 'put item-jobs'],
    ]);
    const { Item } = await client.send(new GetItemCommand({ TableName: TABLE, Key: key }));
    expect(Item).toMatchObject({ state: { S: 'waiting' } });
    expect(Item).not.toHaveProperty(failedByNameIndex.partitionKey);
    expect(await inState('STATE#failed')).toEqual([]);
    expect(await inState('STATE#waiting')).toEqual(['JOB#1']);
  });

  it('write nothing when the condition fails', async () => {
    await expect(
      client.send(
        new UpdateItemCommand({
          TableName: TABLE,
          Key: key,
          UpdateExpression: 'SET #state = :active',
          ConditionExpression: '#state = :failed',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':active': { S: 'active' }, ':failed': { S: 'failed' } },
        }),
      ),
    ).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    expect(writes).toEqual([]);
    expect(await inState('STATE#waiting')).toEqual(['JOB#1']);
  });

  it('delete an item and its index entries in one batch', async () => {
    await client.send(new DeleteItemCommand({ TableName: TABLE, Key: key }));
    expect(writes).toEqual([['del index-global~jobs~byState', 'del item-jobs']]);
    expect((await client.send(new GetItemCommand({ TableName: TABLE, Key: key }))).Item).toBeUndefined();
    expect(await inState('STATE#waiting')).toEqual([]);
  });

  it('still write an item that no index sees, and leave absent ones alone', async () => {
    const plain = { pk: { S: 'PLAIN' }, sk: { S: 'X' } };
    await client.send(new PutItemCommand({ TableName: TABLE, Item: { ...plain, n: { N: '1' } } }));
    await client.send(new DeleteItemCommand({ TableName: TABLE, Key: { pk: { S: 'NONE' }, sk: { S: 'X' } } }));
    expect(writes).toEqual([['put item-jobs'], 'del item-jobs']);
    expect((await client.send(new GetItemCommand({ TableName: TABLE, Key: plain }))).Item).toMatchObject({ n: { N: '1' } });
  });
});
