import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createTableInput } from '../../lambda/adapters/table-schema';
import { patchDynalite, type DynaliteStore } from '../../local/dynalite-patches';

export interface InProcessDynalite {
  readonly client: DynamoDBClient;
  stop(): Promise<void>;
}

/**
 * dynalite in this process, changed as the local runtime's dynalite thread
 * changes it (local/dynalite-patches.ts), with the job table created: for
 * tests that look at what that thread does. dynalite is loaded by Node's own
 * require, as in the thread, not by jest's.
 */
export const startInProcessDynalite = async (
  table: string,
  { path, onStore }: { path?: string; /** told of dynalite's store before any request */ onStore?: (store: DynaliteStore) => void } = {},
): Promise<InProcessDynalite> => {
  const { dynalite, serveStreams, store } = patchDynalite(require.resolve('dynalite'));
  const server = dynalite({ ...(path ? { path } : {}), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  serveStreams(server);
  onStore?.(store()!);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  await client.send(new CreateTableCommand(createTableInput(table)));
  return {
    client,
    stop: async () => {
      client.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
};
