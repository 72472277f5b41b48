import { WorkerSwitchBusyError } from '../../lambda/core/errors';
import { setWorkerPaused, workerPauseView } from '../../lambda/core/pause-worker';
import type { WorkerChange, WorkerChangeLog, WorkerSourceStatus, WorkerSwitch } from '../../lambda/core/ports';

// The pause logic against a switch and a log kept in memory, each as its port
// promises: the source is the truth, the log only says who.

class MemorySwitch implements WorkerSwitch {
  switches = 0;
  /** Run before a change: a concurrent request's, or a refusal. */
  beforeChange: (() => void) | undefined;
  constructor(public state: string) {}
  async status(): Promise<WorkerSourceStatus> {
    return { paused: this.state === 'Disabled' || this.state === 'Disabling', state: this.state };
  }
  async setPaused(paused: boolean): Promise<WorkerSourceStatus> {
    this.beforeChange?.();
    if (this.state === 'Disabling' || this.state === 'Enabling') throw new WorkerSwitchBusyError('busy');
    this.switches += 1;
    this.state = paused ? 'Disabling' : 'Enabled';
    return this.status();
  }
}

class MemoryLog implements WorkerChangeLog {
  changes: WorkerChange[] = [];
  failWith: Error | undefined;
  async last() {
    return this.changes.at(-1);
  }
  async record(change: WorkerChange) {
    if (this.failWith) throw this.failWith;
    this.changes.push(change);
  }
}

const NOW = 1_764_000_000_000;
const setup = (state: string) => {
  const worker = new MemorySwitch(state);
  const changes = new MemoryLog();
  const recordErrors: unknown[] = [];
  const set = (paused: boolean, by = 'arn:aws:iam::1:user/ops') =>
    setWorkerPaused({ worker, changes, now: () => NOW }, paused, by, (error) => recordErrors.push(error));
  return { worker, changes, recordErrors, set };
};

it('pauses a running worker and records who asked, and when', async () => {
  const { worker, changes, set } = setup('Enabled');
  expect(await set(true)).toEqual({ changed: true, view: { paused: true, pausedBy: 'arn:aws:iam::1:user/ops', pausedAt: NOW } });
  expect(worker.state).toBe('Disabling');
  expect(changes.changes).toEqual([{ paused: true, by: 'arn:aws:iam::1:user/ops', at: NOW }]);
});

it('changes nothing when the worker is paused already, and tells who paused it', async () => {
  const { worker, changes, set } = setup('Enabled');
  await set(true, 'alice');
  expect(await set(true, 'bob')).toEqual({ changed: false, view: { paused: true, pausedBy: 'alice', pausedAt: NOW } });
  expect({ switches: worker.switches, records: changes.changes.length }).toEqual({ switches: 1, records: 1 });
});

it('resumes a paused worker once; a second resume changes nothing', async () => {
  const { worker, changes, set } = setup('Disabled');
  expect(await set(false)).toEqual({ changed: true, view: { paused: false } });
  expect(await set(false)).toEqual({ changed: false, view: { paused: false } });
  expect({ state: worker.state, switches: worker.switches, records: changes.changes.map((c) => c.paused) }).toEqual({
    state: 'Enabled',
    switches: 1,
    records: [false],
  });
});

it('answers as done, recording nothing, when a concurrent request switched it the same way first', async () => {
  const { worker, changes, set } = setup('Enabled');
  worker.beforeChange = () => {
    worker.beforeChange = undefined;
    worker.state = 'Disabling';
  };
  expect(await set(true)).toEqual({ changed: false, view: { paused: true } });
  expect(changes.changes).toEqual([]);
});

it('refuses with WorkerSwitchBusyError while the source moves the other way', async () => {
  const { changes, set } = setup('Enabling');
  await expect(set(true)).rejects.toBeInstanceOf(WorkerSwitchBusyError);
  expect(changes.changes).toEqual([]);
});

it('keeps the switch made when the record of who made it cannot be written', async () => {
  const { worker, changes, recordErrors, set } = setup('Enabled');
  changes.failWith = new Error('DynamoDB is unavailable');
  expect(await set(true, 'carol')).toEqual({ changed: true, view: { paused: true, pausedBy: 'carol', pausedAt: NOW } });
  expect(worker.state).toBe('Disabling');
  expect(recordErrors).toEqual([changes.failWith]);
});

it('names no one for a pause made outside the API', async () => {
  const { worker, changes } = setup('Disabled');
  expect(await workerPauseView({ worker, changes })).toEqual({ paused: true });
  // the last change through the API was a resume: the pause since is someone else's
  changes.changes.push({ paused: false, by: 'dave', at: NOW });
  expect(await workerPauseView({ worker, changes })).toEqual({ paused: true });
  worker.state = 'Enabled';
  changes.changes.push({ paused: true, by: 'erin', at: NOW + 1 });
  // resumed outside the API since erin's pause: running, no one named
  expect(await workerPauseView({ worker, changes })).toEqual({ paused: false });
});
