import { WorkerSwitchBusyError } from './errors';
import type { WorkerChange, WorkerChangeLog, WorkerSourceStatus, WorkerSwitch } from './ports';

export interface WorkerSwitchServices {
  readonly worker: WorkerSwitch;
  readonly changes: WorkerChangeLog;
  readonly now?: () => number;
}

/** The worker as metrics and the pause routes show it. */
export interface WorkerPauseView {
  readonly paused: boolean;
  /** Who paused it through the API; absent when it was paused otherwise (a start-up setting, the AWS console). */
  readonly pausedBy?: string;
  /** Epoch ms. */
  readonly pausedAt?: number;
}

const viewOf = (status: WorkerSourceStatus, last: WorkerChange | undefined): WorkerPauseView =>
  // the log tells who only when it agrees with the source: a change made outside the API is no one's we know
  status.paused && last?.paused ? { paused: true, pausedBy: last.by, pausedAt: last.at } : { paused: status.paused };

export const workerPauseView = async ({ worker, changes }: WorkerSwitchServices): Promise<WorkerPauseView> => {
  const [status, last] = await Promise.all([worker.status(), changes.last()]);
  return viewOf(status, last);
};

export interface WorkerSwitchOutcome {
  /** False when the worker already was as asked (or another request got it there first): nothing changed. */
  readonly changed: boolean;
  readonly view: WorkerPauseView;
}

/**
 * Pause (`paused` true) or resume the worker, recording who asked. Asking for
 * the state it is in already changes nothing. The source is the truth, so it
 * is switched first; the record of who did it follows, and a failure to write
 * it leaves the switch made (`onRecordError` hears of it).
 */
export const setWorkerPaused = async (
  { worker, changes, now = Date.now }: WorkerSwitchServices,
  paused: boolean,
  by: string,
  onRecordError: (error: unknown) => void,
): Promise<WorkerSwitchOutcome> => {
  const before = await worker.status();
  if (before.paused === paused) return { changed: false, view: viewOf(before, await changes.last()) };
  try {
    await worker.setPaused(paused);
  } catch (error) {
    if (!(error instanceof WorkerSwitchBusyError)) throw error;
    // a concurrent request may have switched it the same way first: then this one asked for what is done
    const current = await worker.status();
    if (current.paused !== paused) throw error;
    return { changed: false, view: viewOf(current, await changes.last()) };
  }
  const change: WorkerChange = { paused, by, at: now() };
  await changes.record(change).catch(onRecordError);
  return { changed: true, view: paused ? { paused, pausedBy: by, pausedAt: change.at } : { paused } };
};
