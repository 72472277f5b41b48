import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import dynalite from 'dynalite';
import { startFauxqs } from 'fauxqs';

export interface EmulatorOptions {
  /** 0 picks a free port. */
  readonly dynamoDbPort: number;
  readonly sqsPort: number;
  /** LevelDB folder for dynalite; in memory when absent. */
  readonly dataDir?: string;
  readonly host?: string;
}

export interface Emulators {
  readonly dynamoDbEndpoint: string;
  readonly sqsEndpoint: string;
  stop(): Promise<void>;
}

const listen = (server: Server, port: number, host: string): Promise<number> =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });

/** dynalite (DynamoDB API) and fauxqs (SQS API), on loopback. */
export const startEmulators = async (options: EmulatorOptions): Promise<Emulators> => {
  const host = options.host ?? '127.0.0.1';
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const dynamo: Server = dynalite({
    path: options.dataDir,
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  const dynamoPort = await listen(dynamo, options.dynamoDbPort, host);
  const sqs = await startFauxqs({ port: options.sqsPort, logger: false, host: 'localhost' });
  return {
    dynamoDbEndpoint: `http://${host}:${dynamoPort}`,
    sqsEndpoint: `http://${host}:${sqs.port}`,
    stop: async () => {
      await sqs.stop();
      await new Promise<void>((resolve) => dynamo.close(() => resolve()));
    },
  };
};
