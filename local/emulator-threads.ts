/**
 * What the parent and an emulator's worker thread (dynalite-thread.ts,
 * fauxqs-thread.ts) say to each other.
 */
export interface EmulatorThreadData {
  readonly port: number;
  readonly host: string;
}

export interface DynaliteThreadData extends EmulatorThreadData {
  /** dynalite's entry, resolved from the project. */
  readonly modulePath: string;
  /** LevelDB folder; in memory when absent. */
  readonly dataDir?: string;
}

export interface FauxqsThreadData extends EmulatorThreadData {
  /** fauxqs's ES module entry, resolved from the project. */
  readonly moduleUrl: string;
}

/** From the thread: listening on `port`, stopped, or failed to start. */
export interface ThreadMessage {
  readonly port?: number;
  readonly stopped?: boolean;
  readonly error?: { message: string; code?: string; port?: number };
}

/** To the thread. */
export const STOP = 'stop';
