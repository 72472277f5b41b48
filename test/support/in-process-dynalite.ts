import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createTableInput } from '../../lambda/adapters/table-schema';

export interface InProcessDynalite {
  readonly client: DynamoDBClient;
  stop(): Promise<void>;
}

/**
 * dynalite in this process, with the job table created: for tests that look
 * at what the local runtime's dynalite thread does, after `patches` (the
 * source texts local/ applies in that thread) are applied as it applies them.
 */
export const startInProcessDynalite = async (
  table: string,
  {
    path,
    patches = [],
    beforeStart,
  }: { path?: string; patches?: readonly string[]; /** after the patches, before dynalite loads */ beforeStart?: () => void } = {},
): Promise<InProcessDynalite> => {
  const dynalitePath = require.resolve('dynalite');
  for (const patch of patches) new Function('require', `return ${patch}`)(require)(dynalitePath);
  beforeStart?.();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const dynalite = require('dynalite') as (options: unknown) => Server;
  const server = dynalite({ ...(path ? { path } : {}), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
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
