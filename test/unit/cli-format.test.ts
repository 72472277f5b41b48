import { executeApiRegionOf } from '../../cli/aws-signing';
import { formatDuration, table } from '../../cli/format';
import { toApiTime } from '../../cli/time-option';
import { progressLine, type TaskView } from '../../cli/watch-task';

describe('the region of an API Gateway URL', () => {
  it.each([
    ['abc123.execute-api.eu-west-1.amazonaws.com', 'eu-west-1'],
    ['ABC123.EXECUTE-API.US-EAST-1.AMAZONAWS.COM', 'us-east-1'],
    ['a1b2c3.execute-api.us-gov-west-1.amazonaws.com', 'us-gov-west-1'],
    ['a1b2c3.execute-api.cn-north-1.amazonaws.com.cn', 'cn-north-1'],
  ])('%s is signed for %s', (host, region) => expect(executeApiRegionOf(host)).toBe(region));

  it.each(['localhost', 'jobs.example.com', 'abc.execute-api.localhost.localstack.cloud', 'execute-api.eu-west-1.amazonaws.com.evil.example'])(
    '%s names no region',
    (host) => expect(executeApiRegionOf(host)).toBeUndefined(),
  );
});

describe('times as a person types them', () => {
  const now = Date.UTC(2026, 11, 2, 12, 0, 0);
  it('reads a date-time without a zone as one local time (the zone itself: test/cli/commands.test.ts, in a child process)', () => {
    const at = (text: string) => Number(toApiTime(text, now));
    expect(at('2026-12-02 11:00') - at('2026-12-02 09:30')).toBe(90 * 60_000);
    expect(at('2026-12-02T09:30:15.5') - at('2026-12-02 09:30')).toBe(15_500);
    expect(at('2026-12-02')).toBe(at('2026-12-02 00:00:00'));
  });

  it('sends anything else as typed, for the API to take or refuse', () => {
    for (const text of ['1764400000000', '2026-12-02T04:40:00Z', '2026-12-02T06:40:00.250+02:00', 'yesterday', '2026-02-30 10:00']) {
      expect(toApiTime(text, now)).toBe(text);
    }
  });
});

describe('a task as a progress bar', () => {
  const task = (over: Partial<TaskView>): TaskView => ({
    taskId: 't',
    kind: 'retry',
    status: 'RUNNING',
    retried: 0,
    failed: 0,
    total: 200,
    startedAt: 1_000_000,
    updatedAt: 1_000_000,
    finishedAt: null,
    limit: null,
    maxPerSecond: null,
    error: null,
    by: 'local',
    ...over,
  });

  it('tells the rate from the start to the last progress, and the time left at that rate', () => {
    expect(progressLine(task({ retried: 80, failed: 0, updatedAt: 1_002_000 }))).toBe(
      `[${'█'.repeat(10)}${'░'.repeat(14)}]  40%  80/200 (80 retried, 0 failed) · 40 jobs/s · ETA 3.0 s`,
    );
  });

  it('counts toward the limit when it is below the matching jobs, and says removed for a remove task', () => {
    expect(progressLine(task({ kind: 'remove', retried: undefined, removed: 25, failed: 25, limit: 100, updatedAt: 1_010_000 }))).toBe(
      `[${'█'.repeat(12)}${'░'.repeat(12)}]  50%  50/100 (25 removed, 25 failed) · 5.0 jobs/s · ETA 10 s`,
    );
  });

  it('has no rate and no ETA before the first job', () => {
    expect(progressLine(task({}))).toMatch(/  0\/200 \(0 retried, 0 failed\) · rate - · ETA -$/);
  });

  it('ends with the status in place of the ETA once finished', () => {
    expect(progressLine(task({ status: 'CANCELLED', retried: 3, updatedAt: 1_001_000, finishedAt: 1_001_500 }))).toMatch(
      / 3\/200 \(3 retried, 0 failed\) · 2\.0 jobs\/s · CANCELLED$/,
    );
  });
});

describe('tables and durations', () => {
  it('aligns each column to its widest cell, numbers to the right', () => {
    const rows = [
      { id: 'a', n: 5 },
      { id: 'longer', n: 120 },
    ];
    expect(table(rows, [{ header: 'ID', value: (r) => r.id }, { header: 'N', value: (r) => String(r.n), right: true }])).toBe(
      'ID        N\na         5\nlonger  120',
    );
  });

  it.each([
    [450, '450 ms'],
    [2_340, '2.3 s'],
    [42_000, '42 s'],
    [185_000, '3 min 5 s'],
    [7_500_000, '2 h 5 min'],
    [97_200_000, '1 d 3 h'],
  ])('%d ms reads %s', (ms, text) => expect(formatDuration(ms)).toBe(text));
});
