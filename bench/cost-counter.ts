// Preloaded into the local runtime (`node --require`) by bench:cost: each request an SDK client sends becomes a line of
// REQUEUE_COST_LOG, with what the wire does not carry read from dynalite; it patches `Client.send` so lambda/ stays as deployed.
import { AsyncLocalStorage } from 'node:async_hooks';
import { appendFileSync } from 'node:fs';
import { DynamoDBClient, GetItemCommand, QueryCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { Client } from '@smithy/core/client';
import { JOB_TABLE } from '../lambda/adapters/table-schema';
import { itemSize } from '../lambda/adapters/dynamodb-item-size';

export type Item = Record<string, AttributeValue>;
/**
 * One request as sent. `dynamodb-streams`: the stream's reads, free to a Lambda trigger, logged for the job `records` they carry;
 * `caller`: the handler (`worker`…) or local module that sent it; `offered`: what a PutItem offered, which a failed condition never
 * stored; `readUnits`: as dynalite counts them (filtered items included); `itemBytes`: each BatchGetItem key's whole item (0: none).
 */
export type CountedRequest = Readonly<{
  service: 'dynamodb' | 'sqs' | 'dynamodb-streams'; operation: string; caller: string; table?: string; index?: string;
  before?: Item | null; after?: Item | null; offered?: Item; failed?: string; readUnits?: number; itemBytes?: number[]; consistent?: boolean;
  queue?: string; messages?: number; bytes?: number; records?: number;
}>;
const caller = new AsyncLocalStorage<string>();
/** The outermost handler of ours on the stack (a route's file rather than http.ts, which wraps them all), else the innermost local or bench module. */
export const callerOfStack = (stack: string): string => {
  const handlers = [...stack.matchAll(/lambda\/handlers\/([\w-]+)\.ts/g)].map((m) => m[1]!);
  const local = [...stack.matchAll(/\b(local|bench)\/([\w-]+)\.ts/g)].find((m) => m[2] !== 'cost-counter');
  return handlers.filter((h) => h !== 'http' && h !== 'logger').pop() ?? handlers.pop() ?? (local ? `${local[1]}:${local[2]}` : 'unknown');
};
const sqsFields = (operation: string, input: any, output: any): Partial<CountedRequest> => {
  const bodies: string[] = { SendMessage: [input.MessageBody], SendMessageBatch: input.Entries?.map((e: any) => e.MessageBody), ReceiveMessage: output?.Messages?.map((m: any) => m.Body) }[operation] ?? [];
  const messages = operation === 'ReceiveMessage' ? bodies.length : (input.Entries?.length ?? (operation.endsWith('Message') ? 1 : 0));
  return { queue: String(input.QueueUrl ?? '').split('/').pop() ?? '', messages, bytes: bodies.reduce((n, body) => n + Buffer.byteLength(body ?? '', 'utf8'), 0) };
};
export const installCostCounter = (logFile: string): void => {
  const [uncounted, counted] = [new WeakSet<object>(), new WeakSet<object>()];
  let client: DynamoDBClient | undefined; // made at first use, once the runtime has pointed the SDK at dynalite
  const dynalite = (operation: 'GetItem' | 'Query', input: any): Promise<{ Item?: Item; ConsumedCapacity?: { CapacityUnits?: number } }> => {
    if (!client) uncounted.add((client = new DynamoDBClient({})).middlewareStack);
    return operation === 'GetItem' ? client.send(new GetItemCommand(input)) : client.send(new QueryCommand(input));
  };
  const itemAt = async (TableName: string, Key: Item) => (await dynalite('GetItem', { TableName, Key, ConsistentRead: true })).Item ?? null;
  const log = (line: CountedRequest) => appendFileSync(logFile, `${JSON.stringify(line)}\n`);
  // answers as the request did, once its line (of its output, or of its failure) is logged
  const logged = async (request: Promise<any>, line: (output: any, failed?: { failed: string }) => Promise<CountedRequest> | CountedRequest) => {
    const result = await request.catch((error: Error) => ({ error }));
    log(await line(result.output, 'error' in result ? { failed: result.error.name } : undefined));
    if ('error' in result) throw result.error;
    return result;
  };
  // writes one at a time: the item read before a write is the one it changes
  let writes: Promise<unknown> = Promise.resolve();
  const middleware = (next: (args: any) => Promise<any>) => async (args: any) => {
    const [prefix, operation = ''] = String(args.request?.headers?.['x-amz-target'] ?? '').split('.');
    const body: unknown = args.request?.body;
    const input = JSON.parse((typeof body === 'string' ? body : body instanceof Uint8Array ? new TextDecoder().decode(body) : '') || '{}');
    const [by, table] = [caller.getStore() ?? 'unknown', input.TableName as string];
    if (prefix === 'AmazonSQS') return logged(next(args), (output, failed) => ({ service: 'sqs', operation, caller: by, ...failed, ...sqsFields(operation, input, output) }));
    if (['PutItem', 'UpdateItem', 'DeleteItem'].includes(operation)) {
      const { partitionKey: pk, sortKey: sk } = JOB_TABLE;
      const key: Item = operation === 'PutItem' ? { [pk]: input.Item[pk], [sk]: input.Item[sk] } : input.Key;
      const [offered, turn] = [operation === 'PutItem' ? { offered: input.Item } : {}, writes.then(() => itemAt(table, key))];
      const logging = turn.then((before) => logged(next(args), async (_, failed) => ({ service: 'dynamodb', operation, caller: by, table, before, after: await itemAt(table, key), ...offered, ...failed })));
      writes = logging.catch(() => undefined);
      return logging;
    }
    const result = await next(args);
    if (prefix === 'DynamoDBStreams_20120810') {
      const records = (result.output?.Records ?? []).filter((r: any) => r.dynamodb?.Keys?.[JOB_TABLE.sortKey]?.S === 'JOB').length;
      if (operation === 'GetRecords') log({ service: 'dynamodb-streams', operation, caller: by, records });
    } else if (operation === 'BatchGetItem') {
      // dynalite bills no BatchGetItem; AWS bills each key as a GetItem of the whole item
      for (const [name, { Keys, ConsistentRead }] of Object.entries(input.RequestItems as Record<string, { Keys: Item[]; ConsistentRead?: boolean }>)) {
        const itemBytes = await Promise.all(Keys.map(async (key) => itemSize((await itemAt(name, key)) ?? {})));
        log({ service: 'dynamodb', operation, caller: by, table: name, itemBytes, consistent: ConsistentRead === true });
      }
    } else {
      // the same read again for dynalite's units: a filter's dropped items cost as much as the kept ones
      const read = operation === 'GetItem' || operation === 'Query' ? await dynalite(operation, { ...input, ReturnConsumedCapacity: 'TOTAL' }) : undefined;
      log({ service: 'dynamodb', operation, caller: by, table, ...(input.IndexName && { index: input.IndexName }), ...(read && { readUnits: read.ConsumedCapacity?.CapacityUnits ?? 0 }) });
    }
    return result;
  };
  const send = Client.prototype.send;
  Client.prototype.send = function (this: Client<any, any, any, any>, ...args: any[]) {
    const stack = this.middlewareStack;
    if (uncounted.has(stack)) return (send as any).apply(this, args);
    if (!counted.has(stack)) stack.add(middleware as any, { step: 'deserialize', priority: 'high', name: 'requeueCostCounter' });
    counted.add(stack);
    const [limit, holder] = [Error.stackTraceLimit, {} as { stack?: string }];
    Error.stackTraceLimit = 60;
    Error.captureStackTrace(holder);
    Error.stackTraceLimit = limit;
    // an async stack ends at a promise returned rather than awaited: then the chain's earlier sender carries on
    const found = callerOfStack(holder.stack ?? '');
    if (found !== 'unknown') caller.enterWith(found);
    return caller.run(found !== 'unknown' ? found : (caller.getStore() ?? 'unknown'), () => (send as any).apply(this, args));
  } as typeof send;
};

if (process.env.REQUEUE_COST_LOG) installCostCounter(process.env.REQUEUE_COST_LOG);
