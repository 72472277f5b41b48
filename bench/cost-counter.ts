/**
 * Preloaded into the local runtime (`node --require`) by `npm run bench:cost`:
 * every request an SDK client of the process sends — the handlers', the
 * event-source emulation's — is appended to REQUEUE_COST_LOG as one JSON line,
 * with what the cost model needs and the wire does not carry: the item before
 * and after each write and the read units of each read, taken from dynalite
 * by a client of its own that is not counted. It patches the SDK's shared
 * `Client.send` from the outside because lambda/ and local/ stay as deployed.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { appendFileSync } from 'node:fs';
import { DynamoDBClient, GetItemCommand, QueryCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { Client } from '@smithy/core/client';
import { JOB_TABLE } from '../lambda/adapters/table-schema';
import { itemSize } from '../lambda/adapters/dynamodb-item-size';

type Item = Record<string, AttributeValue>;

/** One request as sent, one line of the log. */
export interface CountedRequest {
  /** `dynamodb-streams`: reads of the table's stream, free to a Lambda trigger on AWS, logged for the batches they carry. */
  readonly service: 'dynamodb' | 'sqs' | 'dynamodb-streams';
  readonly operation: string;
  /** The handler (`worker`, `reconcile`…) or the local module (`local:event-source`) that sent it. */
  readonly caller: string;
  readonly table?: string;
  readonly index?: string;
  readonly before?: Item | null;
  readonly after?: Item | null;
  /** The item a PutItem offered, which a failed condition never stored. */
  readonly offered?: Item;
  readonly failed?: string;
  /** A read's units, as dynalite counts them (items a filter drops included). */
  readonly readUnits?: number;
  /**
   * A BatchGetItem's keys, each the size of its whole item (0: none), which
   * AWS bills whatever the projection asked for.
   */
  readonly itemBytes?: number[];
  readonly consistent?: boolean;
  readonly queue?: string;
  /** Messages sent, received or deleted. */
  readonly messages?: number;
  /** SQS payload bytes, billed per 64 KiB. */
  readonly bytes?: number;
  /** Records of job items a stream read returned: those the counting function is invoked with. */
  readonly records?: number;
}

const caller = new AsyncLocalStorage<string>();

/**
 * The sender, from the stack at `send`: the outermost handler of ours on it
 * (a route's file rather than http.ts, which wraps them all), else the
 * innermost local or bench module (the event source, not the main.ts that
 * started it), else `unknown` (a call no awaited chain leads to).
 */
export const callerOfStack = (stack: string): string => {
  const handlers = [...stack.matchAll(/lambda\/handlers\/([\w-]+)\.ts/g)].map((m) => m[1]!);
  const route = handlers.filter((h) => h !== 'http' && h !== 'logger').pop() ?? handlers.pop();
  if (route) return route;
  const local = [...stack.matchAll(/\b(local|bench)\/([\w-]+)\.ts/g)].find((m) => m[2] !== 'cost-counter');
  return local ? `${local[1]}:${local[2]}` : 'unknown';
};

const sqsOperation = (operation: string, input: any, output: any, queue: string): Partial<CountedRequest> => {
  const bodies: string[] =
    operation === 'SendMessage'
      ? [input.MessageBody]
      : operation === 'SendMessageBatch'
        ? input.Entries.map((e: { MessageBody: string }) => e.MessageBody)
        : operation === 'ReceiveMessage'
          ? (output?.Messages ?? []).map((m: { Body: string }) => m.Body)
          : [];
  const entries = Array.isArray(input.Entries) ? input.Entries.length : undefined;
  return {
    queue,
    messages: operation === 'ReceiveMessage' ? bodies.length : (entries ?? (operation.endsWith('Message') ? 1 : 0)),
    bytes: bodies.reduce((sum, body) => sum + Buffer.byteLength(body ?? '', 'utf8'), 0),
  };
};

export const installCostCounter = (logFile: string): void => {
  const counted = new WeakSet<object>();
  let client: DynamoDBClient | undefined;
  // made at first use: the runtime points the SDK at its emulators only after this module is loaded
  const uncounted = (): DynamoDBClient => {
    if (!client) {
      client = new DynamoDBClient({});
      counted.add(client.middlewareStack);
    }
    return client;
  };
  const stacks = new WeakSet<object>();
  // writes one at a time: the item read before a write is the one it changes
  let writes: Promise<unknown> = Promise.resolve();
  const read = async (table: string, key: Item): Promise<Item | null> =>
    (await uncounted().send(new GetItemCommand({ TableName: table, Key: key, ConsistentRead: true }))).Item ?? null;
  const size = (item: Item | null) => (item ? itemSize(item) : 0);
  const log = (line: CountedRequest) => appendFileSync(logFile, `${JSON.stringify(line)}\n`);

  const middleware = (next: (args: any) => Promise<any>) => async (args: any) => {
    const target = String(args.request?.headers?.['x-amz-target'] ?? '');
    const [prefix, operation = ''] = target.split('.');
    const body: unknown = args.request?.body;
    // the SDK's serializer hands over a string or bytes
    const text = typeof body === 'string' ? body : body instanceof Uint8Array ? new TextDecoder().decode(body) : '';
    const input = JSON.parse(text || '{}');
    const by = caller.getStore() ?? 'unknown';
    if (prefix === 'DynamoDBStreams_20120810') {
      const result = await next(args);
      if (operation === 'GetRecords') {
        const records = (result.output?.Records ?? []) as { dynamodb?: { Keys?: Item } }[];
        const jobs = records.filter((r) => r.dynamodb?.Keys?.[JOB_TABLE.sortKey]?.S === 'JOB').length;
        log({ service: 'dynamodb-streams', operation, caller: by, records: jobs });
      }
      return result;
    }
    if (prefix === 'AmazonSQS') {
      const queue = String(input.QueueUrl ?? '').split('/').pop() ?? '';
      try {
        const result = await next(args);
        log({ service: 'sqs', operation, caller: by, ...sqsOperation(operation, input, result.output, queue) });
        return result;
      } catch (error) {
        log({ service: 'sqs', operation, caller: by, failed: (error as Error).name, ...sqsOperation(operation, input, undefined, queue) });
        throw error;
      }
    }
    const table = input.TableName as string;
    if (['PutItem', 'UpdateItem', 'DeleteItem'].includes(operation)) {
      const { partitionKey: pk, sortKey: sk } = JOB_TABLE;
      const key: Item = operation === 'PutItem' ? { [pk]: input.Item[pk], [sk]: input.Item[sk] } : input.Key;
      const turn = writes.then(async () => {
        const before = await read(table, key);
        let failed: string | undefined;
        try {
          return await next(args);
        } catch (error) {
          failed = (error as Error).name;
          throw error;
        } finally {
          const after = await read(table, key);
          log({ service: 'dynamodb', operation, caller: by, table, before, after, ...(operation === 'PutItem' ? { offered: input.Item } : {}), ...(failed ? { failed } : {}) });
        }
      });
      writes = turn.catch(() => undefined);
      return turn;
    }
    const result = await next(args);
    let readUnits: number | undefined;
    if (operation === 'GetItem' || operation === 'Query') {
      // the same read again, uncounted, for dynalite's units: a filter's dropped items cost as much as the kept ones
      const again = { ...input, ReturnConsumedCapacity: 'TOTAL' };
      const out = operation === 'GetItem' ? await uncounted().send(new GetItemCommand(again)) : await uncounted().send(new QueryCommand(again));
      readUnits = out.ConsumedCapacity?.CapacityUnits ?? 0;
    }
    if (operation === 'BatchGetItem') {
      // dynalite bills no BatchGetItem; AWS bills each key as a GetItem of the whole item, so size each one
      for (const [name, request] of Object.entries(input.RequestItems as Record<string, { Keys: Item[]; ConsistentRead?: boolean }>)) {
        const itemBytes = await Promise.all(request.Keys.map(async (key) => size(await read(name, key))));
        log({ service: 'dynamodb', operation, caller: by, table: name, itemBytes, consistent: request.ConsistentRead === true });
      }
      return result;
    }
    log({ service: 'dynamodb', operation, caller: by, table, ...(input.IndexName ? { index: input.IndexName } : {}), ...(readUnits !== undefined ? { readUnits } : {}) });
    return result;
  };

  const send = Client.prototype.send;
  Client.prototype.send = function (this: Client<any, any, any, any>, ...args: any[]) {
    if (counted.has(this.middlewareStack)) return (send as any).apply(this, args);
    if (!stacks.has(this.middlewareStack)) {
      stacks.add(this.middlewareStack);
      this.middlewareStack.add(middleware as any, { step: 'deserialize', priority: 'high', name: 'requeueCostCounter' });
    }
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 60;
    const holder: { stack?: string } = {};
    Error.captureStackTrace(holder);
    Error.stackTraceLimit = limit;
    const found = callerOfStack(holder.stack ?? '');
    // an async stack ends at a promise returned rather than awaited (the store's listings): then the sender is
    // the one of the chain's earlier requests, which the chain carries on from here
    if (found !== 'unknown') caller.enterWith(found);
    return caller.run(found !== 'unknown' ? found : (caller.getStore() ?? 'unknown'), () => (send as any).apply(this, args));
  } as typeof send;
};

if (process.env.REQUEUE_COST_LOG) installCostCounter(process.env.REQUEUE_COST_LOG);
