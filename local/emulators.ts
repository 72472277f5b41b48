import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { bundleOnDemand, projectRoot } from './bundle-on-demand.mjs';
import { STOP, type DynaliteThreadData, type FauxqsThreadData, type ThreadMessage } from './emulator-threads';
import { startSqsFront } from './sqs-front';

export interface EmulatorOptions {
  /** 0 picks a free port. */
  readonly dynamoDbPort: number;
  /** The SQS endpoint's: fauxqs itself takes a free port behind it. */
  readonly sqsPort: number;
  /** LevelDB folder for dynalite; in memory when absent. */
  readonly dataDir?: string;
  readonly host?: string;
  /** @default us-east-1 */
  readonly region?: string;
}

export interface Emulators {
  readonly dynamoDbEndpoint: string;
  /** The SQS API: fauxqs behind the front that answers message move tasks. */
  readonly sqsEndpoint: string;
  /**
   * fauxqs itself, for the runtime's own clients, which start no move task: the front's hop would cost the main
   * thread, where the handlers run, about 0.2 ms a request.
   */
  readonly fauxqsEndpoint: string;
  stop(): Promise<void>;
}

/** The thread entries, each bundled on demand next to the runtime's bundle. */
const THREADS = {
  dynalite: { entry: 'local/dynalite-thread.ts', bundle: 'dist/local/dynalite-thread.mjs' },
  fauxqs: { entry: 'local/fauxqs-thread.ts', bundle: 'dist/local/fauxqs-thread.mjs' },
} as const;

interface EmulatorThread {
  readonly port: number;
  stop(): Promise<void>;
}

/** Packages are resolved from the project, whatever the working directory. */
const projectRequire = () => createRequire(path.join(projectRoot(), 'package.json'));

/** fauxqs is ESM only, with no entry for require: find its folder as require would, then its import entry. */
const fauxqsModuleUrl = (): string => {
  for (const dir of projectRequire().resolve.paths('fauxqs') ?? []) {
    const folder = path.join(dir, 'fauxqs');
    if (!existsSync(path.join(folder, 'package.json'))) continue;
    const manifest = JSON.parse(readFileSync(path.join(folder, 'package.json'), 'utf8')) as {
      main?: string;
      exports?: { '.'?: { import?: { default?: string } } };
    };
    const entry = manifest.exports?.['.']?.import?.default ?? manifest.main;
    if (entry) return pathToFileURL(path.join(folder, entry)).href;
  }
  throw new Error('fauxqs is not installed: run npm ci');
};

/**
 * Run an emulator's server in a thread of its own; resolves once it listens. dynalite then has a core to itself
 * instead of sharing one with the handlers and the SDK; fauxqs too: every SQS request the handlers and the
 * event-source emulation make would be served on the main thread, beside them (a tenth of its time in end-to-end
 * runs). On AWS the queue is not in the functions' sandbox either.
 */
const startThread = async (
  name: keyof typeof THREADS,
  workerData: DynaliteThreadData | FauxqsThreadData,
): Promise<EmulatorThread> => {
  const thread = new Worker(await bundleOnDemand(THREADS[name].entry, THREADS[name].bundle), { workerData });
  // an emulator failing after start-up ends the runtime, as a failure on the main thread would
  thread.on('error', (error) => {
    process.stderr.write(`${name} failed: ${error.stack ?? error.message}\n`);
    process.exit(1);
  });
  const port = await new Promise<number>((resolve, reject) => {
    thread.once('message', (message: ThreadMessage) => {
      if (message.error) reject(Object.assign(new Error(message.error.message), message.error));
      else resolve(message.port!);
    });
  }).catch(async (error: unknown) => {
    await thread.terminate();
    throw error;
  });
  return {
    port,
    stop: async () => {
      await new Promise<void>((resolve) => {
        thread.once('message', () => resolve());
        thread.postMessage(STOP);
      });
      await thread.terminate();
    },
  };
};

/** dynalite (DynamoDB API) and fauxqs (SQS API, behind the front that adds message move tasks), on loopback. */
export const startEmulators = async (options: EmulatorOptions): Promise<Emulators> => {
  const host = options.host ?? '127.0.0.1';
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const dynamo = await startThread('dynalite', {
    modulePath: projectRequire().resolve('dynalite'),
    dataDir: options.dataDir,
    port: options.dynamoDbPort,
    host,
  });
  const sqs = await startThread('fauxqs', {
    moduleUrl: fauxqsModuleUrl(),
    port: 0,
    host: 'localhost',
  }).catch(async (error: unknown) => {
    await dynamo.stop();
    throw error;
  });
  const front = await startSqsFront({
    upstream: `http://${host}:${sqs.port}`,
    port: options.sqsPort,
    host,
    region: options.region ?? 'us-east-1',
  }).catch(async (error: unknown) => {
    await sqs.stop();
    await dynamo.stop();
    throw error;
  });
  return {
    dynamoDbEndpoint: `http://${host}:${dynamo.port}`,
    sqsEndpoint: `http://${host}:${front.port}`,
    fauxqsEndpoint: `http://${host}:${sqs.port}`,
    stop: async () => {
      await front.stop();
      await sqs.stop();
      await dynamo.stop();
    },
  };
};
