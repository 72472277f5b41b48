import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DeleteItemCommand, type DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListStreamsCommand,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { startStreamEventSource, type StreamEventSource, type StreamEventSourceOptions } from '../../local/stream-event-source';
import { expiryDelete } from '../../local/expire-items';
import { eventually } from '../support/requeue-harness';
import { freshResources } from '../support/resources';

// The stream dynalite keeps (local/dynalite-streams.ts) read as AWS's is, through the DynamoDB Streams API, by the
// local stand-in for Lambda's stream event source mapping, on the test emulators.

let dynamodb: DynamoDBClient;
let tableName: string;
const streams = new DynamoDBStreamsClient({ endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB });
const dir = mkdtempSync(path.join(os.tmpdir(), 'requeue-stream-'));
const running: StreamEventSource[] = [];

beforeAll(async () => {
  ({ dynamodb, tableName } = await freshResources());
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((source) => source.stop()));
});

afterAll(() => {
  streams.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const put = (pk: string, sk: string, state: string) =>
  dynamodb.send(new PutItemCommand({ TableName: tableName, Item: { pk: { S: pk }, sk: { S: sk }, state: { S: state } } }));
const setState = (pk: string, state: string) =>
  dynamodb.send(
    new UpdateItemCommand({
      TableName: tableName,
      Key: { pk: { S: pk }, sk: { S: 'JOB' } },
      UpdateExpression: 'SET #state = :state',
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: { ':state': { S: state } },
    }),
  );
const remove = (pk: string) => dynamodb.send(new DeleteItemCommand({ TableName: tableName, Key: { pk: { S: pk }, sk: { S: 'JOB' } } }));

/** Every batch handed over, and a handler that fails while `failing` says so. */
const consumer = () => {
  const batches: DynamoDBRecord[][] = [];
  const control = { failing: false, failures: 0 };
  const handler = async (event: DynamoDBStreamEvent) => {
    if (control.failing) {
      control.failures++;
      throw new Error('not now');
    }
    batches.push(event.Records);
  };
  return { batches, control, handler };
};

const start = (handler: StreamEventSourceOptions['handler'], options: Partial<StreamEventSourceOptions> = {}) => {
  const source = startStreamEventSource({
    streams,
    tableName,
    region: 'us-east-1',
    filter: { dynamodb: { Keys: { sk: { S: ['JOB'] } } } },
    batchSize: 100,
    batchingWindowMs: 20,
    handler,
    functionName: 'count-job-changes',
    timeoutMs: 10_000,
    idleMs: 10,
    logError: () => undefined,
    ...options,
  });
  running.push(source);
  return source;
};

const keysOf = (batches: DynamoDBRecord[][]) => batches.flat().map((r) => `${r.eventName} ${r.dynamodb?.Keys?.pk?.S}`);

describe('the local table stream', () => {
  it('hands over each change of the items the filter takes, in order, with both images, as Lambda does', async () => {
    const { batches, handler } = consumer();
    const source = start(handler);
    await put('JOB#a', 'JOB', 'waiting');
    await put('JOB#a', 'STACK', 'filtered out');
    await setState('JOB#a', 'active');
    await remove('JOB#a');
    await source.caughtUp();
    const records = batches.flat().filter((r) => r.dynamodb?.Keys?.pk?.S === 'JOB#a');
    expect(records.map((r) => r.eventName)).toEqual(['INSERT', 'MODIFY', 'REMOVE']);
    const [insert, modify, removal] = records;
    expect(insert!.dynamodb).toMatchObject({ Keys: { pk: { S: 'JOB#a' }, sk: { S: 'JOB' } }, NewImage: { state: { S: 'waiting' } } });
    expect(insert!.dynamodb!.OldImage).toBeUndefined();
    expect(modify!.dynamodb).toMatchObject({ OldImage: { state: { S: 'waiting' } }, NewImage: { state: { S: 'active' } }, StreamViewType: 'NEW_AND_OLD_IMAGES' });
    expect(removal!.dynamodb).toMatchObject({ OldImage: { state: { S: 'active' } } });
    expect(removal!.dynamodb!.NewImage).toBeUndefined();
    expect(removal!.userIdentity).toBeUndefined();
    const sequence = records.map((r) => BigInt(r.dynamodb!.SequenceNumber!));
    expect([...sequence].sort((x, y) => (x < y ? -1 : 1))).toEqual(sequence);
    expect(new Set(sequence).size).toBe(3);
    expect(records[0]).toMatchObject({ eventSource: 'aws:dynamodb', eventVersion: '1.1', awsRegion: 'us-east-1' });
    expect(records[0]!.eventSourceARN).toMatch(new RegExp(`^arn:aws:dynamodb:us-east-1:\\d+:table/${tableName}/stream/`));
    expect(typeof records[0]!.dynamodb!.ApproximateCreationDateTime).toBe('number');
  });

  it('marks the deletes of the stand-in for TTL as the DynamoDB service', async () => {
    const { batches, handler } = consumer();
    const source = start(handler);
    await put('JOB#ttl', 'JOB', 'completed');
    await put('JOB#api', 'JOB', 'completed');
    await dynamodb.send(expiryDelete({ TableName: tableName, Key: { pk: { S: 'JOB#ttl' }, sk: { S: 'JOB' } } }));
    await remove('JOB#api');
    await source.caughtUp();
    const removal = (pk: string) => batches.flat().find((r) => r.eventName === 'REMOVE' && r.dynamodb?.Keys?.pk?.S === pk)!;
    expect(removal('JOB#ttl').userIdentity).toEqual({ type: 'Service', principalId: 'dynamodb.amazonaws.com' });
    expect(removal('JOB#ttl').dynamodb!.OldImage).toMatchObject({ state: { S: 'completed' } });
    // without the stand-in's header, a delete is an API call's
    expect(removal('JOB#api').userIdentity).toBeUndefined();
  });

  it('gives a failed batch again, the same records, until the function takes it', async () => {
    const { batches, control, handler } = consumer();
    control.failing = true;
    const source = start(handler);
    await put('JOB#retried-1', 'JOB', 'waiting');
    await put('JOB#retried-2', 'JOB', 'waiting');
    await eventually(async () => control.failures >= 3, 20_000, 'three failed invocations');
    control.failing = false;
    await source.caughtUp();
    expect(keysOf(batches).filter((k) => k.includes('retried'))).toEqual(['INSERT JOB#retried-1', 'INSERT JOB#retried-2']);
  });

  it('goes on after its checkpoint on a new start, and delivers a batch it began but did not finish as it was', async () => {
    const checkpointFile = path.join(dir, 'checkpoint.json');
    const first = consumer();
    const one = start(first.handler, { checkpointFile });
    await put('JOB#c1', 'JOB', 'waiting');
    await one.caughtUp();
    // the next batch fails until the source stops: it was noted, never finished
    first.control.failing = true;
    await put('JOB#c2', 'JOB', 'waiting');
    await put('JOB#c3', 'JOB', 'waiting');
    await eventually(async () => first.control.failures >= 1, 20_000, 'a failed invocation');
    await one.stop();
    await put('JOB#c4', 'JOB', 'waiting');

    const second = consumer();
    const two = start(second.handler, { checkpointFile });
    await two.caughtUp();
    const later = second.batches.map((batch) => batch.map((r) => r.dynamodb!.Keys!.pk!.S));
    // c1 was checkpointed; c2 and c3 again as one batch, without c4, which comes after
    expect(later.flat()).toEqual(['JOB#c2', 'JOB#c3', 'JOB#c4']);
    expect(later[0]).toEqual(['JOB#c2', 'JOB#c3']);
  });

  it('trims the records its reader went past, and serves the stream API for one shard', async () => {
    const { handler } = consumer();
    const source = start(handler);
    await put('JOB#trimmed', 'JOB', 'waiting');
    await source.caughtUp();
    // the reader's next read, from after its last record, trims what it went past
    await source.caughtUp();
    const { Streams = [] } = await streams.send(new ListStreamsCommand({ TableName: tableName }));
    expect(Streams).toHaveLength(1);
    const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: Streams[0]!.StreamArn }));
    expect(StreamDescription).toMatchObject({ StreamStatus: 'ENABLED', StreamViewType: 'NEW_AND_OLD_IMAGES', TableName: tableName });
    expect(StreamDescription!.Shards).toHaveLength(1);
    const { ShardIterator } = await streams.send(
      new GetShardIteratorCommand({ StreamArn: Streams[0]!.StreamArn, ShardId: StreamDescription!.Shards![0]!.ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
    );
    const { Records = [] } = await streams.send(new GetRecordsCommand({ ShardIterator }));
    expect(Records.map((r) => r.dynamodb?.Keys?.pk?.S)).not.toContain('JOB#trimmed');
  });
});
