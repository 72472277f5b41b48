import { cancelRetryTask } from '../../lambda/core/cancel-retry-task';
import { StateConflictError, TaskNotFoundError, TaskNotRunningError } from '../../lambda/core/errors';
import type { RetryTask, TaskStatus } from '../../lambda/core/retry-task';
import { Clock, MemoryRetryTaskStore } from '../support/memory-adapters';

const task = (over: Partial<RetryTask> = {}): RetryTask => ({
  id: 'task-1',
  status: 'RUNNING',
  filter: {},
  total: 10,
  retried: 0,
  failed: 0,
  startedAt: 1_000,
  updatedAt: 1_000,
  version: 3,
  ...over,
});

/** A store where a runner saves its progress just before each of the first `races` cancel writes. */
class RacedTaskStore extends MemoryRetryTaskStore {
  saves = 0;
  constructor(private races: number) {
    super();
  }

  override async saveTask(next: RetryTask, expectVersion: number, expectStatuses?: readonly TaskStatus[]): Promise<void> {
    this.saves++;
    if (this.races > 0) {
      this.races--;
      const current = (await this.getTask(next.id))!;
      await super.saveTask({ ...current, retried: current.retried + 1, version: current.version + 1 }, current.version);
    }
    return super.saveTask(next, expectVersion, expectStatuses);
  }
}

describe('cancelRetryTask', () => {
  it('marks a running task CANCELLING, for its runner to end', async () => {
    const clock = new Clock(5_000);
    const tasks = new MemoryRetryTaskStore();
    await tasks.createTask(task());
    const cancelled = await cancelRetryTask({ tasks, now: clock.now }, 'task-1');
    expect(cancelled).toEqual(task({ status: 'CANCELLING', updatedAt: 5_000, version: 4 }));
    expect(await tasks.getTask('task-1')).toEqual(cancelled);
  });

  it('refuses a task that does not exist, or is not running', async () => {
    const tasks = new MemoryRetryTaskStore();
    await expect(cancelRetryTask({ tasks }, 'task-1')).rejects.toThrow(TaskNotFoundError);
    await tasks.createTask(task({ status: 'COMPLETED' }));
    await expect(cancelRetryTask({ tasks }, 'task-1')).rejects.toEqual(new TaskNotRunningError('task-1', 'COMPLETED'));
  });

  it("reads the task again when a runner's save wins the race, keeping the runner's progress", async () => {
    const tasks = new RacedTaskStore(3);
    await tasks.createTask(task());
    const cancelled = await cancelRetryTask({ tasks }, 'task-1');
    expect(cancelled).toMatchObject({ status: 'CANCELLING', retried: 3, version: 7 });
    expect(tasks.saves).toBe(4);
  });

  it('gives up after 11 lost races', async () => {
    const tasks = new RacedTaskStore(11);
    await tasks.createTask(task());
    await expect(cancelRetryTask({ tasks }, 'task-1')).rejects.toThrow(StateConflictError);
    expect(tasks.saves).toBe(11);
    expect((await tasks.getTask('task-1'))?.status).toBe('RUNNING');
  });
});
