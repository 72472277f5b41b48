import { type DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { itemSize, MAX_ITEM_BYTES } from '../../lambda/adapters/dynamodb-item-size';
import { startInProcessDynalite, type InProcessDynalite } from '../support/in-process-dynalite';

// dynalite as the local runtime's dynalite thread runs it, in this process and in memory

const TABLE = 'jobs';
let dynamo: InProcessDynalite;
let client: DynamoDBClient;

beforeAll(async () => {
  dynamo = await startInProcessDynalite(TABLE);
  client = dynamo.client;
});

afterAll(() => dynamo?.stop());

const key = (id: string) => ({ pk: { S: `JOB#${id}` }, sk: { S: 'JOB' } });
/** An item of exactly `bytes` as DynamoDB counts them, its padding in `char`. */
const itemOf = (id: string, bytes: number, char: string) => {
  const base = { ...key(id), data: { S: '' } };
  const pad = bytes - itemSize(base);
  return { ...base, data: { S: char.repeat(Math.floor(pad / Buffer.byteLength(char))) + 'x'.repeat(pad % Buffer.byteLength(char)) } };
};
const put = (item: Record<string, { S: string }>) => client.send(new PutItemCommand({ TableName: TABLE, Item: item }));

describe("dynalite's item size in the local runtime", () => {
  it('takes an item of exactly 400 KB in UTF-8 bytes, of 3-byte characters', async () => {
    const item = itemOf('at-limit', MAX_ITEM_BYTES, '€');
    expect(itemSize(item)).toBe(MAX_ITEM_BYTES);
    await expect(put(item)).resolves.toBeDefined();
  });

  it('refuses one byte more, as DynamoDB does, though its JavaScript length is a third of that', async () => {
    const item = itemOf('over', MAX_ITEM_BYTES + 1, '€');
    expect(item.data.S.length).toBeLessThan(MAX_ITEM_BYTES / 2);
    await expect(put(item)).rejects.toThrow('Item size has exceeded the maximum allowed size');
  });

  it('refuses an update that takes an item past 400 KB in UTF-8 bytes', async () => {
    await put(itemOf('grows', MAX_ITEM_BYTES - 1000, 'x'));
    await expect(
      client.send(
        new UpdateItemCommand({
          TableName: TABLE,
          Key: key('grows'),
          UpdateExpression: 'SET #e = :e',
          ExpressionAttributeNames: { '#e': 'error' },
          ExpressionAttributeValues: { ':e': { S: 'é'.repeat(600) } },
        }),
      ),
    ).rejects.toThrow('Item size to update has exceeded the maximum allowed size');
  });
});
