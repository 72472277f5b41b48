/**
 * Preloaded into the local runtime (`node --require`) by bench:cost: each
 * request an SDK client sends becomes a line of REQUEUE_COST_LOG, with what
 * the wire does not carry read from dynalite. It patches `Client.send` from
 * the outside so that lambda/ and local/ stay as deployed.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { appendFileSync } from 'node:fs';
import { DynamoDBClient, GetItemCommand, QueryCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { Client } from '@smithy/core/client';
import { JOB_TABLE } from '../lambda/adapters/table-schema';
import { itemSize } from '../lambda/adapters/dynamodb-item-size';

export type Item = Record<string, AttributeValue>;

/** The DynamoDB operations that write an item: logged with the item before and after. */
export const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem']);

/** One request as sent, one line of the log. */
export interface CountedRequest {
  /** `dynamodb-streams`: the stream's reads, free to a Lambda trigger, logged for the job `records` they carry. */
  readonly service: 'dynamodb' | 'sqs' | 'dynamodb-streams';
  readonly operation: string;
  /** The handler (`worker`, `reconcile`…) or the local module (`local:event-source`) that sent it. */
  readonly caller: string;
  readonly before?: Item | null;
  readonly after?: Item | null;
  /** What a PutItem offered, which a failed condition never stored. */
  readonly offered?: Item;
  readonly failed?: string;
  /** A read's units as dynalite counts them (items a filter drops included). */
  readonly readUnits?: number;
  /** Each BatchGetItem key's whole item (0: none), which AWS bills whatever the projection. */
  readonly itemBytes?: number[];
  readonly consistent?: boolean;
  readonly queue?: string;
  /** Messages sent, received or deleted. */
  readonly messages?: number;
  /** SQS payload bytes, billed per 64 KiB. */
  readonly bytes?: number;
  readonly records?: number;
}

const caller = new AsyncLocalStorage<string>();

/**
 * The sender, from the stack at `send`: the outermost handler of ours (a
 * route's file rather than http.ts, which wraps them all), else the
 * innermost local or bench module.
 */
const callerOfStack = (stack: string): string | undefined => {
  const handlers = [...stack.matchAll(/lambda\/handlers\/([\w-]+)\.ts/g)].map((m) => m[1]!);
  const route = handlers.filter((h) => h !== 'http' && h !== 'logger').pop() ?? handlers.pop();
  if (route) return route;
  const local = [...stack.matchAll(/\b(local|bench)\/([\w-]+)\.ts/g)].find((m) => m[2] !== 'cost-counter');
  return local && `${local[1]}:${local[2]}`;
};

const sqsFields = (operation: string, input: any, output: any): Partial<CountedRequest> => {
  const received = operation === 'ReceiveMessage';
  const sent = operation.startsWith('SendMessage') ? (input.Entries ?? [input]) : [];
  const bodies: string[] = received
    ? (output?.Messages ?? []).map((m: any) => m.Body)
    : sent.map((e: any) => e.MessageBody);
  return {
    queue: String(input.QueueUrl ?? '').split('/').pop(),
    messages: received ? bodies.length : (input.Entries?.length ?? 1),
    bytes: bodies.reduce((n, body) => n + Buffer.byteLength(body ?? '', 'utf8'), 0),
  };
};

const textOf = (body: unknown): string =>
  typeof body === 'string' ? body : body instanceof Uint8Array ? new TextDecoder().decode(body) : '';

export const installCostCounter = (logFile: string): void => {
  // made at first use, once the runtime has pointed the SDK at dynalite; its own reads are not counted
  let reader: DynamoDBClient | undefined;
  const dynalite = () => (reader ??= new DynamoDBClient({}));
  const itemAt = async (TableName: string, Key: Item) =>
    (await dynalite().send(new GetItemCommand({ TableName, Key, ConsistentRead: true }))).Item ?? null;
  const log = (line: CountedRequest) => appendFileSync(logFile, `${JSON.stringify(line)}\n`);
  // answers as the request did, once its line (with the error's name as `failed`, if it failed) is logged
  const logged = async (request: Promise<any>, line: (output: any, failed?: string) => Promise<CountedRequest>) => {
    const result = await request.catch((error: Error) => ({ error }));
    log(await line(result.output, result.error?.name));
    if (result.error) throw result.error;
    return result;
  };
  // writes one at a time: the item read before a write is the one it changes
  let writes: Promise<unknown> = Promise.resolve();
  const middleware = (next: (args: any) => Promise<any>) => async (args: any) => {
    const [prefix, operation = ''] = String(args.request?.headers?.['x-amz-target'] ?? '').split('.');
    // the SDK's serializer hands over a string or bytes
    const input = JSON.parse(textOf(args.request?.body) || '{}');
    const by = caller.getStore() ?? 'unknown';
    const table = input.TableName as string;
    if (prefix === 'AmazonSQS') {
      return logged(next(args), async (output, failed) => ({
        service: 'sqs',
        operation,
        caller: by,
        failed,
        ...sqsFields(operation, input, output),
      }));
    }
    if (WRITES.has(operation)) {
      const { partitionKey: pk, sortKey: sk } = JOB_TABLE;
      const key: Item = operation === 'PutItem' ? { [pk]: input.Item[pk], [sk]: input.Item[sk] } : input.Key;
      const offered = operation === 'PutItem' ? input.Item : undefined;
      const logging = writes.then(async () => {
        const before = await itemAt(table, key);
        return logged(next(args), async (_, failed) => {
          const after = await itemAt(table, key);
          return { service: 'dynamodb', operation, caller: by, before, after, offered, failed };
        });
      });
      writes = logging.catch(() => undefined);
      return logging;
    }
    const result = await next(args);
    if (operation === 'GetRecords') {
      const isJob = (r: any) => r.dynamodb?.Keys?.[JOB_TABLE.sortKey]?.S === 'JOB';
      const records = (result.output?.Records ?? []).filter(isJob).length;
      log({ service: 'dynamodb-streams', operation, caller: by, records });
    } else if (operation === 'BatchGetItem') {
      // dynalite bills no BatchGetItem; AWS bills each key as a GetItem of the whole item
      const requests = input.RequestItems as Record<string, { Keys: Item[]; ConsistentRead?: boolean }>;
      for (const [name, { Keys, ConsistentRead }] of Object.entries(requests)) {
        const itemBytes = await Promise.all(Keys.map(async (key) => itemSize((await itemAt(name, key)) ?? {})));
        log({ service: 'dynamodb', operation, caller: by, itemBytes, consistent: ConsistentRead === true });
      }
    } else if (prefix !== 'DynamoDBStreams_20120810') {
      // the same read again for dynalite's units: a filter's dropped items cost as much as the kept ones
      const again = { ...input, ReturnConsumedCapacity: 'TOTAL' };
      let read: { ConsumedCapacity?: { CapacityUnits?: number } } | undefined;
      if (operation === 'GetItem') read = await dynalite().send(new GetItemCommand(again));
      if (operation === 'Query') read = await dynalite().send(new QueryCommand(again));
      log({ service: 'dynamodb', operation, caller: by, readUnits: read?.ConsumedCapacity?.CapacityUnits });
    }
    return result;
  };

  const send = Client.prototype.send;
  const counted = new WeakSet<object>();
  Client.prototype.send = function (this: Client<any, any, any, any>, ...args: any[]) {
    if (this === reader) return (send as any).apply(this, args);
    // a document client shares its client's stack: one counter a stack
    if (!counted.has(this.middlewareStack)) {
      const options = { step: 'deserialize', priority: 'high', name: 'requeueCostCounter' } as const;
      this.middlewareStack.add(middleware as any, options);
      counted.add(this.middlewareStack);
    }
    const limit = Error.stackTraceLimit;
    const holder: { stack?: string } = {};
    Error.stackTraceLimit = 60;
    Error.captureStackTrace(holder);
    Error.stackTraceLimit = limit;
    // an async stack ends at a promise returned rather than awaited: then the chain's earlier sender carries on
    const found = callerOfStack(holder.stack ?? '');
    if (found) caller.enterWith(found);
    return (send as any).apply(this, args);
  } as typeof send;
};

if (process.env.REQUEUE_COST_LOG) installCostCounter(process.env.REQUEUE_COST_LOG);
