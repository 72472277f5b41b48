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

/** One request as sent, one line of the log. */
export interface CountedRequest {
  /** `dynamodb-streams`: the stream's reads, free to a Lambda trigger, logged for the job `records` they carry. */
  readonly service: 'dynamodb' | 'sqs' | 'dynamodb-streams';
  readonly operation: string;
  /** The handler (`worker`, `reconcile`…) or the local module (`local:event-source`) that sent it. */
  readonly caller: string;
  readonly table?: string;
  readonly index?: string;
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
 * innermost local or bench module, else `unknown`.
 */
export const callerOfStack = (stack: string): string => {
  const handlers = [...stack.matchAll(/lambda\/handlers\/([\w-]+)\.ts/g)].map((m) => m[1]!);
  const route = handlers.filter((h) => h !== 'http' && h !== 'logger').pop() ?? handlers.pop();
  if (route) return route;
  const local = [...stack.matchAll(/\b(local|bench)\/([\w-]+)\.ts/g)].find((m) => m[2] !== 'cost-counter');
  return local ? `${local[1]}:${local[2]}` : 'unknown';
};

const sqsBodies = (operation: string, input: any, output: any): string[] => {
  if (operation === 'SendMessage') return [input.MessageBody];
  if (operation === 'SendMessageBatch') return input.Entries.map((e: { MessageBody: string }) => e.MessageBody);
  if (operation === 'ReceiveMessage') return (output?.Messages ?? []).map((m: { Body: string }) => m.Body);
  return [];
};

const sqsFields = (operation: string, input: any, output: any): Partial<CountedRequest> => {
  const bodies = sqsBodies(operation, input, output);
  const sent = input.Entries?.length ?? (operation.endsWith('Message') ? 1 : 0);
  return {
    queue: String(input.QueueUrl ?? '').split('/').pop() ?? '',
    messages: operation === 'ReceiveMessage' ? bodies.length : sent,
    bytes: bodies.reduce((n, body) => n + Buffer.byteLength(body ?? '', 'utf8'), 0),
  };
};

const textOf = (body: unknown): string => (typeof body === 'string' ? body : body instanceof Uint8Array ? new TextDecoder().decode(body) : '');

type UncountedRead = { Item?: Item; ConsumedCapacity?: { CapacityUnits?: number } };

export const installCostCounter = (logFile: string): void => {
  const uncounted = new WeakSet<object>();
  const counted = new WeakSet<object>();
  // made at first use, once the runtime has pointed the SDK at dynalite
  let client: DynamoDBClient | undefined;
  const dynalite = (operation: 'GetItem' | 'Query', input: any): Promise<UncountedRead> => {
    if (!client) {
      client = new DynamoDBClient({});
      uncounted.add(client.middlewareStack);
    }
    return operation === 'GetItem' ? client.send(new GetItemCommand(input)) : client.send(new QueryCommand(input));
  };

  const itemAt = async (TableName: string, Key: Item) => (await dynalite('GetItem', { TableName, Key, ConsistentRead: true })).Item ?? null;
  const log = (line: CountedRequest) => appendFileSync(logFile, `${JSON.stringify(line)}\n`);
  // answers as the request did, once its line (of its output, or of its failure) is logged
  type Line = (output: any, failed?: { failed: string }) => Promise<CountedRequest> | CountedRequest;
  const logged = async (request: Promise<any>, line: Line) => {
    const result = await request.catch((error: Error) => ({ error }));
    log(await line(result.output, 'error' in result ? { failed: result.error.name } : undefined));
    if ('error' in result) throw result.error;
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
      return logged(next(args), (output, failed) => ({ service: 'sqs', operation, caller: by, ...failed, ...sqsFields(operation, input, output) }));
    }
    if (['PutItem', 'UpdateItem', 'DeleteItem'].includes(operation)) {
      const { partitionKey: pk, sortKey: sk } = JOB_TABLE;
      const key: Item = operation === 'PutItem' ? { [pk]: input.Item[pk], [sk]: input.Item[sk] } : input.Key;
      const offered = operation === 'PutItem' ? { offered: input.Item } : {};
      const line = (before: Item | null) => async (_: unknown, failed?: { failed: string }): Promise<CountedRequest> => {
        const after = await itemAt(table, key);
        return { service: 'dynamodb', operation, caller: by, table, before, after, ...offered, ...failed };
      };
      const logging = writes.then(() => itemAt(table, key)).then((before) => logged(next(args), line(before)));
      writes = logging.catch(() => undefined);
      return logging;
    }
    const result = await next(args);
    if (prefix === 'DynamoDBStreams_20120810') {
      const records = (result.output?.Records ?? []).filter((r: any) => r.dynamodb?.Keys?.[JOB_TABLE.sortKey]?.S === 'JOB').length;
      if (operation === 'GetRecords') log({ service: 'dynamodb-streams', operation, caller: by, records });
    } else if (operation === 'BatchGetItem') {
      // dynalite bills no BatchGetItem; AWS bills each key as a GetItem of the whole item
      const requests = input.RequestItems as Record<string, { Keys: Item[]; ConsistentRead?: boolean }>;
      for (const [name, { Keys, ConsistentRead }] of Object.entries(requests)) {
        const itemBytes = await Promise.all(Keys.map(async (key) => itemSize((await itemAt(name, key)) ?? {})));
        log({ service: 'dynamodb', operation, caller: by, table: name, itemBytes, consistent: ConsistentRead === true });
      }
    } else {
      // the same read again for dynalite's units: a filter's dropped items cost as much as the kept ones
      const again = { ...input, ReturnConsumedCapacity: 'TOTAL' };
      const read = operation === 'GetItem' || operation === 'Query' ? await dynalite(operation, again) : undefined;
      const units = read && { readUnits: read.ConsumedCapacity?.CapacityUnits ?? 0 };
      log({ service: 'dynamodb', operation, caller: by, table, ...(input.IndexName && { index: input.IndexName }), ...units });
    }
    return result;
  };

  const send = Client.prototype.send;
  Client.prototype.send = function (this: Client<any, any, any, any>, ...args: any[]) {
    const stack = this.middlewareStack;
    if (uncounted.has(stack)) return (send as any).apply(this, args);
    if (!counted.has(stack)) stack.add(middleware as any, { step: 'deserialize', priority: 'high', name: 'requeueCostCounter' });
    counted.add(stack);
    const limit = Error.stackTraceLimit;
    const holder: { stack?: string } = {};
    Error.stackTraceLimit = 60;
    Error.captureStackTrace(holder);
    Error.stackTraceLimit = limit;
    // an async stack ends at a promise returned rather than awaited: then the chain's earlier sender carries on
    const found = callerOfStack(holder.stack ?? '');
    if (found !== 'unknown') caller.enterWith(found);
    const sender = found !== 'unknown' ? found : (caller.getStore() ?? 'unknown');
    return caller.run(sender, () => (send as any).apply(this, args));
  } as typeof send;
};

if (process.env.REQUEUE_COST_LOG) installCostCounter(process.env.REQUEUE_COST_LOG);
