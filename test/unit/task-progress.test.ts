import { taskProgress, type TaskCounts } from '../../dashboard/app/task-progress';

const task = (over: Partial<TaskCounts>): TaskCounts => ({
  kind: 'retry',
  retried: 0,
  failed: 0,
  total: 200,
  limit: null,
  startedAt: 1_000_000,
  updatedAt: 1_000_000,
  finishedAt: null,
  ...over,
});

describe("a task's progress", () => {
  it('has no rate and no time left before the first job', () => {
    expect(taskProgress(task({ updatedAt: 1_005_000 }))).toEqual({ done: 0, seen: 0, target: 200, fraction: 0 });
  });

  it('tells the rate from the start to the last progress, and the time left at that rate', () => {
    expect(taskProgress(task({ retried: 70, failed: 10, updatedAt: 1_002_000 }))).toEqual({
      done: 70,
      seen: 80,
      target: 200,
      fraction: 0.4,
      perSecond: 40,
      remainingMs: 3_000,
    });
  });

  it('counts the jobs of its kind as done, and stops at its limit', () => {
    const removing = task({ kind: 'remove', retried: undefined, removed: 25, failed: 25, limit: 100, updatedAt: 1_010_000 });
    expect(taskProgress(removing)).toEqual({ done: 25, seen: 50, target: 100, fraction: 0.5, perSecond: 5, remainingMs: 10_000 });
  });

  it('takes the rate up to its end once finished', () => {
    const finished = task({ retried: 200, updatedAt: 1_009_000, finishedAt: 1_004_000 });
    expect(taskProgress(finished)).toMatchObject({ fraction: 1, perSecond: 50, remainingMs: 0 });
  });

  it('is whole with nothing to do', () => {
    expect(taskProgress(task({ total: 0 }))).toEqual({ done: 0, seen: 0, target: 0, fraction: 1 });
  });
});
