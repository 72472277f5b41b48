import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { startFauxqs } from 'fauxqs';
import { CLOSE_LEVEL_ITERATORS } from './level-iterators';

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

/**
 * dynalite runs in a thread of its own: the database then has a core to
 * itself instead of sharing one with the handlers, the SDK and fauxqs.
 */
const DYNALITE_THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
${CLOSE_LEVEL_ITERATORS}(workerData.modulePath);
const dynalite = require(workerData.modulePath);
const server = dynalite({ path: workerData.dataDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.once('error', (error) => parentPort.postMessage({ error: { message: error.message, code: error.code, port: workerData.port } }));
server.listen(workerData.port, workerData.host, () => parentPort.postMessage({ port: server.address().port }));
parentPort.on('message', (message) => {
  if (message === 'stop') server.close(() => parentPort.postMessage({ stopped: true }));
});
`;

interface ThreadMessage {
  readonly port?: number;
  readonly stopped?: boolean;
  readonly error?: { message: string; code?: string; port?: number };
}

const startDynalite = async (options: EmulatorOptions, host: string): Promise<{ port: number; stop(): Promise<void> }> => {
  // resolved from the running script (under the project), whatever the working directory
  const modulePath = createRequire(path.resolve(process.argv[1] ?? 'index.js')).resolve('dynalite');
  const thread = new Worker(DYNALITE_THREAD, {
    eval: true,
    workerData: { modulePath, dataDir: options.dataDir, port: options.dynamoDbPort, host },
  });
  // a database failure after start-up is as fatal as it was in the main thread
  thread.on('error', (error) => {
    process.stderr.write(`dynalite failed: ${error.stack ?? error.message}\n`);
    process.exit(1);
  });
  const port = await new Promise<number>((resolve, reject) => {
    thread.once('message', (message: ThreadMessage) => {
      if (message.error) reject(Object.assign(new Error(message.error.message), message.error));
      else resolve(message.port!);
    });
  });
  return {
    port,
    stop: async () => {
      await new Promise<void>((resolve) => {
        thread.once('message', () => resolve());
        thread.postMessage('stop');
      });
      await thread.terminate();
    },
  };
};

/** dynalite (DynamoDB API) and fauxqs (SQS API), on loopback. */
export const startEmulators = async (options: EmulatorOptions): Promise<Emulators> => {
  const host = options.host ?? '127.0.0.1';
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const dynamo = await startDynalite(options, host);
  const sqs = await startFauxqs({ port: options.sqsPort, logger: false, host: 'localhost' }).catch(async (error: unknown) => {
    await dynamo.stop();
    throw error;
  });
  return {
    dynamoDbEndpoint: `http://${host}:${dynamo.port}`,
    sqsEndpoint: `http://${host}:${sqs.port}`,
    stop: async () => {
      await sqs.stop();
      await dynamo.stop();
    },
  };
};
