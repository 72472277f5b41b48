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
import type { DynaliteStore } from '../../local/dynalite-patches';
import { startInProcessDynalite, type InProcessDynalite } from '../support/in-process-dynalite';

// dynalite as the local runtime's dynalite thread runs it, in this process, its LevelDB writes recorded

interface Operation {
  readonly type: 'put' | 'del';
  readonly key: string;
}
type Callback = (error?: Error | null) => void;
interface MainDb {
  put(key: string, value: unknown, callback: Callback): void;
  del(key: string, callback: Callback): void;
  batch(operations: Operation[], callback: Callback): void;
}

const TABLE = 'jobs';
const { stateIndex, failedByNameIndex } = JOB_TABLE;
/** The item and index writes of one request, each as `put <sub-database>`, a batch as an array of them. */
let writes: (string | string[])[] = [];
// keys are `item-<table>~<key>`, `index-global~<table>~<index>~<key>`, and for the table's stream
// `stream~<table>~<sequence number>` and `stream-last~<table>`
const describeOperation = (type: string, key: string) =>
  `${type} ${key.split('~').slice(0, key.startsWith('item-') ? 1 : key.startsWith('stream~') ? 2 : 3).join('~')}`;
/** The job table has a stream: each change's record is written in the change's batch. */
const STREAM_RECORD = ['put stream~jobs', 'put stream-last~jobs'];

const dir = mkdtempSync(path.join(os.tmpdir(), 'requeue-batches-'));
let dynamo: InProcessDynalite;
let client: DynamoDBClient;

const recordLevelWrites = (store: DynaliteStore) => {
  const db = store.db as unknown as MainDb;
  const { put, del, batch } = db;
  const record = (type: string, key: string) => {
    if (/^(item-|index-|stream)/.test(key)) writes.push(describeOperation(type, key));
  };
  db.put = (key, value, callback) => (record('put', key), put.call(db, key, value, callback));
  db.del = (key, callback) => (record('del', key), del.call(db, key, callback));
  db.batch = (operations, callback) => {
    writes.push(operations.map((o) => describeOperation(o.type, o.key)));
    return batch.call(db, operations, callback);
  };
};

beforeAll(async () => {
  dynamo = await startInProcessDynalite(TABLE, { path: dir, onStore: recordLevelWrites });
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
  it('put an item, its index entries and its stream record in one batch', async () => {
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
    expect(writes).toEqual([['put index-global~jobs~byState', 'put index-global~jobs~failedByName', 'put item-jobs', ...STREAM_RECORD]]);
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
      ['del index-global~jobs~byState', 'del index-global~jobs~failedByName', 'put index-global~jobs~byState', 'put item-jobs', ...STREAM_RECORD],
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

  it('delete an item, its index entries and its stream record in one batch', async () => {
    await client.send(new DeleteItemCommand({ TableName: TABLE, Key: key }));
    expect(writes).toEqual([['del index-global~jobs~byState', 'del item-jobs', ...STREAM_RECORD]]);
    expect((await client.send(new GetItemCommand({ TableName: TABLE, Key: key }))).Item).toBeUndefined();
    expect(await inState('STATE#waiting')).toEqual([]);
  });

  it('still write an item that no index sees, and leave absent ones alone', async () => {
    const plain = { pk: { S: 'PLAIN' }, sk: { S: 'X' } };
    await client.send(new PutItemCommand({ TableName: TABLE, Item: { ...plain, n: { N: '1' } } }));
    await client.send(new DeleteItemCommand({ TableName: TABLE, Key: { pk: { S: 'NONE' }, sk: { S: 'X' } } }));
    expect(writes).toEqual([['put item-jobs', ...STREAM_RECORD], 'del item-jobs']);
    expect((await client.send(new GetItemCommand({ TableName: TABLE, Key: plain }))).Item).toMatchObject({ n: { N: '1' } });
  });
});
