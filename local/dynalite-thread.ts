/**
 * dynalite's worker thread (see emulators.ts): dynalite as dynalite-patches.ts
 * changes it, serving the DynamoDB and DynamoDB Streams APIs.
 */
import type { AddressInfo } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { patchDynalite } from './dynalite-patches';
import { STOP, type DynaliteThreadData, type ThreadMessage } from './emulator-threads';

const data = workerData as DynaliteThreadData;
const tell = (message: ThreadMessage) => parentPort!.postMessage(message);

/** LevelDB allows one process on a folder: another requeue's dynalite holds it. */
const isLocked = (error: unknown) => (error as { cause?: { code?: string } }).cause?.code === 'LEVEL_LOCKED';

const main = async (): Promise<void> => {
  const { dynalite, serveStreams, store } = patchDynalite(data.modulePath);
  const server = dynalite({ ...(data.dataDir ? { path: data.dataDir } : {}), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  try {
    // dynalite opens its folder in the background and fails each request while it cannot: fail the start instead
    await store()!.db.open();
  } catch (error) {
    if (!isLocked(error)) throw error;
    return tell({
      error: {
        message: `The data folder ${data.dataDir} is in use by another requeue: stop it, or give this one another REQUEUE_DATA_DIR.`,
        code: 'DATA_DIR_IN_USE',
      },
    });
  }
  serveStreams(server);
  server.once('error', (error: NodeJS.ErrnoException) => tell({ error: { message: error.message, code: error.code, port: data.port } }));
  server.listen(data.port, data.host, () => tell({ port: (server.address() as AddressInfo).port }));
  parentPort!.on('message', (message) => {
    if (message === STOP) server.close(() => tell({ stopped: true }));
  });
};

main().catch((error: Error) => tell({ error: { message: error.message } }));
