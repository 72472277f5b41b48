/** fauxqs's worker thread (see emulators.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import { STOP, type FauxqsThreadData, type ThreadMessage } from './emulator-threads';

interface FauxqsServer {
  readonly port: number;
  stop(): Promise<void>;
}

const data = workerData as FauxqsThreadData;
const tell = (message: ThreadMessage) => parentPort!.postMessage(message);

const main = async (): Promise<void> => {
  // ESM only, with no entry for require: imported from the URL the parent found
  const { startFauxqs } = (await import(data.moduleUrl)) as {
    startFauxqs(options: { port: number; host: string; logger: false }): Promise<FauxqsServer>;
  };
  const server = await startFauxqs({ port: data.port, logger: false, host: data.host });
  parentPort!.on('message', (message) => {
    if (message === STOP) void server.stop().then(() => tell({ stopped: true }));
  });
  tell({ port: server.port });
};

main().catch((error: NodeJS.ErrnoException) => tell({ error: { message: error.message, code: error.code, port: data.port } }));
