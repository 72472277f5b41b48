import { eventually } from '../support/requeue-harness';
import { removeDataDir, startLocalRuntime, STARTUP_BUDGET_MS, type LocalRuntime } from '../support/local-runtime';
import { runCli, startCli, type CliResult } from '../support/cli';

// Every command of `requeue` against `npm start` over HTTP, as an operator
// runs them; the runtime requires an API key, which the CLI takes from
// REQUEUE_API_KEY as the runtime does.

const API_KEY = 'cli-test-key';
let runtime: LocalRuntime;

beforeAll(async () => {
  runtime = await startLocalRuntime({ env: { REQUEUE_API_KEY: API_KEY } });
}, STARTUP_BUDGET_MS + 5_000);

afterAll(async () => {
  await runtime?.kill();
  if (runtime) removeDataDir(runtime.dataDir);
});

/** The API itself, to check what the CLI did and said. */
const api = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: any; headers: Headers }> => {
  const response = await fetch(`${runtime.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${API_KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers };
};

const requeue = (args: string[], env: Record<string, string> = {}): Promise<CliResult> =>
  runCli(args, { env: { REQUEUE_URL: runtime.url, REQUEUE_API_KEY: API_KEY, TZ: 'UTC', ...env } });

/** Run a command that must succeed; its stdout. */
const ok = async (args: string[], env: Record<string, string> = {}): Promise<string> => {
  const result = await requeue(args, env);
  if (result.code !== 0) throw new Error(`requeue ${args.join(' ')} exited ${result.code}:\n${result.stderr}${result.stdout}`);
  return result.stdout;
};

const json = async (args: string[]): Promise<any> => JSON.parse(await ok([...args, '--json']));

const untilState = (id: string, state: string) =>
  eventually(async () => {
    const job = (await api('GET', `/jobs/details/${encodeURIComponent(id)}`)).body;
    return job.state === state && job;
  }, 20_000, `job ${id} to be ${state}`);

/** A failed job of `name` (one attempt). */
const failedJob = async (name = 'demo.fail', data: unknown = { message: 'card declined' }): Promise<string> => {
  const { body } = await api('POST', '/jobs', { name, data, opts: { attempts: 1 } });
  await untilState(body.id, 'failed');
  return body.id;
};

/**
 * `count` failed jobs of `name`, the only ones (after clearFailed), and counted: a bulk command without a filter
 * takes its total from the counts, which follow the table's stream a moment behind the jobs' state.
 */
const failedJobs = async (count: number, name = 'demo.fail', data: unknown = { message: 'card declined' }): Promise<string[]> => {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push((await api('POST', '/jobs', { name, data, opts: { attempts: 1 } })).body.id);
  for (const id of ids) await untilState(id, 'failed');
  await eventually(async () => (await api('GET', '/jobs/metrics')).body.failed === count, 20_000, `${count} failed jobs counted`);
  return ids;
};

/** `2026-12-02 15:10:01` for `epochMs` at a fixed offset from UTC, worked out without the CLI's code. */
const wallClock = (epochMs: number, offsetMinutes: number): string =>
  new Date(epochMs + offsetMinutes * 60_000).toISOString().slice(0, 19).replace('T', ' ');

const clearFailed = async () => {
  await api('POST', '/jobs/remove-all-failed');
  await eventually(async () => (await api('GET', '/jobs/metrics')).body.failed === 0, 20_000, 'no failed job left');
};

describe('requeue against npm start', () => {
  beforeEach(clearFailed, 30_000);

  it('runs as `npx requeue` in the repository, and says its version', async () => {
    const { spawnSync } = await import('node:child_process');
    const { ROOT } = await import('../support/build');
    const result = spawnSync('npx', ['requeue', '--version'], { cwd: ROOT, encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe(require('../../package.json').version);
  });

  it('enqueues a job, with data and options, and answers the API body with --json', async () => {
    const human = await ok(['enqueue', 'demo.echo', '--data', '{"to": "ada"}', '--job-id', 'order:1', '--attempts', '5']);
    expect(human.trim()).toBe('Enqueued job order:1 (demo.echo), waiting');
    const job = await untilState('order:1', 'completed');
    expect(job).toMatchObject({ data: { to: 'ada' }, maxAttempts: 5, returnValue: { to: 'ada' } });

    const body = await json(['enqueue', 'demo.echo', '--delay', '3600000', '--backoff', 'exponential', '--backoff-delay', '50']);
    expect(body).toEqual({ id: expect.any(String), name: 'demo.echo', state: 'delayed' });
    expect((await api('GET', `/jobs/details/${body.id}`)).body.opts).toMatchObject({ delay: 3_600_000, backoff: { type: 'exponential', delay: 50 } });
  });

  it('lists failed jobs as a table in local time, and as the API body with --json', async () => {
    const id = await failedJob();
    const { failedAt } = (await api('GET', `/jobs/details/${id}`)).body;

    const table = await ok(['failed'], { TZ: 'Asia/Kolkata' });
    const [header, row, ...rest] = table.trimEnd().split('\n');
    expect(header).toMatch(/^ID\s+NAME\s+FAILED AT\s+ATTEMPTS\s+ERROR$/);
    expect(rest).toEqual([]);
    // India is UTC+05:30 all year
    expect(row).toMatch(new RegExp(`^${id}\\s+demo\\.fail\\s+${wallClock(failedAt, 330)}\\s+1/1\\s+card declined$`));

    expect(await json(['failed'])).toEqual((await api('GET', '/jobs/failed')).body);
  });

  it('filters failed jobs by name, error, and times typed as ISO 8601, local time or "ago"', async () => {
    const before = Date.now() - 1_000;
    const card = await failedJob('demo.fail', { message: 'Card declined' });
    const other = await failedJob('demo.fail', { message: 'timeout' });
    const ids = async (args: string[]) => (await json(['failed', ...args])).map((j: { id: string }) => j.id);

    expect(await ids(['--error', 'CARD'])).toEqual([card]);
    expect(await ids(['--name', 'demo.fail', '--since', new Date(before).toISOString()])).toEqual([other, card]);
    expect(await ids(['--since', '10m'])).toEqual([other, card]);
    expect(await ids(['--until', new Date(before).toISOString()])).toEqual([]);
    // a time without a zone is the local time of the CLI's machine, here UTC+05:30
    const local = await ok(['failed', '--since', wallClock(before, 330), '--json'], { TZ: 'Asia/Kolkata' });
    expect(JSON.parse(local).map((j: { id: string }) => j.id)).toEqual([other, card]);
  });

  it('pages with --limit, says where the next page starts, and takes every page with --all', async () => {
    const ids = await failedJobs(3);
    const first = await requeue(['failed', '--limit', '2', '--json']);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toHaveLength(2);
    const cursor = /^X-Next-Cursor: (\S+)$/m.exec(first.stderr)?.[1];
    expect(cursor).toBeDefined();
    const second = await json(['failed', '--limit', '2', '--cursor', cursor!]);
    expect([...JSON.parse(first.stdout), ...second].map((j: { id: string }) => j.id).sort()).toEqual([...ids].sort());

    expect((await requeue(['failed', '--limit', '2'])).stderr).toContain('More remain: add --cursor ');
    const all = await json(['failed', '--limit', '1', '--all']);
    expect(all.map((j: { id: string }) => j.id).sort()).toEqual([...ids].sort());
  });

  it('shows one job: state, error, stack, every execution and retry', async () => {
    const id = await failedJob('demo.flaky', { failTimes: 9 });
    const view = await ok(['show', id]);
    expect(view).toContain(`Job ${id} (demo.flaky)`);
    expect(view).toMatch(/state\s+failed/);
    expect(view).toMatch(/attempts\s+1 of 1 \(generation 0\)/);
    expect(view).toContain('Stack trace');
    expect(view).toMatch(/Executions \(1\)\n\s+GEN\s+ATTEMPT\s+START\s+TOOK\s+OUTCOME\s+ERROR\n\s+0\s+1\s+\S+ \S+\s+\d+ ms\s+failed\s+Flaky failure 1 of 9$/m);
    expect(await json(['show', id])).toEqual((await api('GET', `/jobs/details/${id}`)).body);
  });

  it('retries a failed job with corrected data, and the job completes with it', async () => {
    const id = await failedJob('demo.flaky', { failTimes: 9 });
    expect((await ok(['retry', id, '--data', '{"failTimes": 0}'])).trim()).toBe(`Job '${id}' has been queued for retry`);
    const job = await untilState(id, 'completed');
    expect(job.data).toEqual({ failTimes: 0 });
    expect(await ok(['show', id])).toMatch(/Retries \(1\)\n\s+AT\s+FROM\s+GEN\s+BY\s+TASK\s+DATA\n\s+\S+ \S+\s+api\s+1\s+local\s+-\s+changed/);
  });

  it('fails with the API sentence, its code and exit code 1: a missing job, a job not failed, a bad filter', async () => {
    const missing = await requeue(['show', 'no-such-job']);
    expect(missing).toMatchObject({ code: 1, stdout: '' });
    expect(missing.stderr.trim()).toBe('Error: Job no-such-job not found (JOB_NOT_FOUND, HTTP 404)');
    const missingJson = await requeue(['retry', 'no-such-job', '--json']);
    expect(missingJson.code).toBe(1);
    expect(JSON.parse(missingJson.stdout)).toEqual({ error: 'Job no-such-job not found', code: 'JOB_NOT_FOUND' });

    const done = (await json(['enqueue', 'demo.echo'])).id;
    await untilState(done, 'completed');
    const notFailed = await requeue(['retry', done]);
    expect(notFailed.code).toBe(1);
    expect(notFailed.stderr).toContain(`Job ${done} is not in failed state. Current state: completed (JOB_NOT_FAILED, HTTP 400)`);

    const badFilter = await requeue(['failed', '--since', 'yesterday']);
    expect(badFilter.code).toBe(1);
    expect(badFilter.stderr).toMatch(/^Error: since must be epoch milliseconds .* \(VALIDATION_ERROR, HTTP 400\)$/m);
    const badBulk = await requeue(['retry-all', '--limit', 'ten']);
    expect(badBulk.code).toBe(1);
    expect(badBulk.stderr).toContain('limit must be a whole number of jobs, 1 or more');
    const badState = await requeue(['jobs', '--state', 'sleeping']);
    expect(badState.code).toBe(1);
    expect(badState.stderr).toContain('state is required: one of waiting, active, completed, failed, delayed');
  });

  it('fails with exit code 3 when nothing answers, 2 for a wrong command line, 1 without the API key', async () => {
    const unreachable = await requeue(['metrics', '--url', 'http://127.0.0.1:1']);
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toContain('Nothing answers at http://127.0.0.1:1 (connection refused)');

    const badJson = await requeue(['enqueue', 'demo.echo', '--data', '{oops']);
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toContain('--data must be JSON');
    expect((await requeue(['no-such-command'])).code).toBe(2);
    expect((await requeue(['metrics', '--url', 'localhost:3000'])).code).toBe(2);

    const noKey = await runCli(['metrics'], { env: { REQUEUE_URL: runtime.url } });
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toContain('Missing or wrong API key: send the header Authorization: Bearer <REQUEUE_API_KEY>. (UNAUTHORIZED, HTTP 401)');
    expect((await runCli(['metrics', '--url', runtime.url, '--api-key', API_KEY])).code).toBe(0);
  });

  it('lists jobs by state and promotes a delayed one', async () => {
    const { id } = await json(['enqueue', 'demo.echo', '--delay', '3600000']);
    const table = await ok(['jobs', '--state', 'delayed']);
    expect(table).toMatch(/^ID\s+NAME\s+STATE\s+ATTEMPTS\s+CREATED\s+UPDATED\s+RUNS AT$/m);
    expect(table).toMatch(new RegExp(`^${id}\\s+demo\\.echo\\s+delayed\\s+0/3`, 'm'));
    expect(await json(['jobs', '--state', 'delayed'])).toEqual((await api('GET', '/jobs?state=delayed')).body);

    expect((await ok(['promote', id])).trim()).toBe(`Job '${id}' has been promoted`);
    await untilState(id, 'completed');
    const again = await requeue(['promote', id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`Job ${id} is not delayed. Current state: completed (JOB_NOT_DELAYED, HTTP 400)`);
    expect(await ok(['jobs', '--state', 'delayed', '--name', 'no.such.name'])).toBe('No delayed jobs.\n');
  });

  it('removes one job, then every failed job of a name after a dry run', async () => {
    const one = await failedJob();
    expect((await ok(['remove', one])).trim()).toBe(`Job '${one}' has been removed`);
    expect((await api('GET', `/jobs/details/${one}`)).status).toBe(404);

    const keep = await failedJob('demo.flaky', { failTimes: 9 });
    await failedJob();
    await failedJob();
    expect((await ok(['remove-all-failed', '--name', 'demo.fail', '--dry-run'])).trim()).toBe(
      'Dry run: 2 failed job(s) match; nothing was removed',
    );
    // the counts follow the table's stream a moment behind
    await eventually(async () => (await api('GET', '/jobs/metrics')).body.failed === 3, 10_000, 'the 3 failed jobs counted');
    expect((await ok(['remove-all-failed', '--name', 'demo.fail'])).trim()).toBe('Remove operation complete: 2 removed of 2 matching');
    expect((await json(['failed'])).map((j: { id: string }) => j.id)).toEqual([keep]);
  });

  it('retries every failed job matching the filters, after a dry run, and --json answers the API body', async () => {
    const a = await failedJob('demo.flaky', { failTimes: 1 });
    const b = await failedJob('demo.flaky', { failTimes: 1 });
    await failedJob('demo.fail', { message: 'stays failed' });
    expect((await ok(['retry-all', '--name', 'demo.flaky', '--error', 'flaky', '--since', '1h', '--dry-run'])).trim()).toBe(
      'Dry run: 2 failed job(s) match; nothing was retried',
    );
    expect(await json(['retry-all', '--name', 'demo.flaky', '--limit', '5'])).toEqual({
      message: 'Retry operation complete',
      retriedCount: 2,
      failedCount: 0,
      total: 2,
    });
    await untilState(a, 'completed');
    await untilState(b, 'completed');
    await eventually(async () => (await api('GET', '/jobs/metrics')).body.failed === 1, 10_000, 'one failed job counted');
  });

  it('runs retry-all --async as a task and watches it to its end with a progress bar, rate and ETA', async () => {
    await failedJobs(6, 'demo.flaky', { failTimes: 1 });
    const run = await requeue(['retry-all', '--async', '--max-per-second', '2', '--watch']);
    expect(run.code).toBe(0);
    const taskId = /^Task (\S+) started; watching/m.exec(run.stderr)?.[1];
    expect(taskId).toBeDefined();
    const bars = run.stderr.split('\n').filter((line) => line.startsWith('['));
    expect(bars[0]).toMatch(/^\[░{24}\]\s+0%  0\/6 \(0 retried, 0 failed\) · rate - · ETA -$/);
    expect(bars.at(-1)).toMatch(/^\[█{24}\] 100%  6\/6 \(6 retried, 0 failed\) · [\d.]+ jobs\/s · COMPLETED$/);
    expect(bars.length).toBeGreaterThanOrEqual(3);
    // the counts only go up, and a bar between the first and the last tells the rate and what is left
    const counts = bars.map((line) => Number(/  (\d+)\/6 /.exec(line)![1]));
    expect(counts).toEqual([...counts].sort((x, y) => x - y));
    for (const line of bars.slice(1, -1)) expect(line).toMatch(/ · [\d.]+ jobs\/s · ETA \d/);
    expect(run.stdout.trim()).toMatch(new RegExp(`^Task ${taskId} COMPLETED in .+: 6 jobs retried, 0 failed, of 6 matching$`));

    expect(await ok(['tasks'])).toMatch(new RegExp(`^${taskId}\\s+retry\\s+COMPLETED\\s+6\\s+0\\s+6\\s+\\S+ \\S+\\s+local$`, 'm'));
    expect(await json(['task', taskId!])).toEqual((await api('GET', `/jobs/retry-tasks/${taskId}`)).body);
    expect(await ok(['task', taskId!])).toMatch(/progress\s+\[█{24}\] 100%/);
    const cancelDone = await requeue(['cancel', taskId!]);
    expect(cancelDone.code).toBe(1);
    expect(cancelDone.stderr).toMatch(/\(TASK_NOT_RUNNING, HTTP 400\)/);
  });

  it('stops watching on Ctrl-C and says so, the task goes on; cancel then stops it', async () => {
    // at one job a second, 30 jobs outlast the watching and the cancel on a loaded machine
    await failedJobs(30);
    const started = await json(['retry-all', '--async', '--max-per-second', '1']);
    expect(started).toMatchObject({ taskId: expect.any(String), total: 30 });
    const watching = startCli(['task', started.taskId, '--watch'], { env: { REQUEUE_URL: runtime.url, REQUEUE_API_KEY: API_KEY } });
    await eventually(async () => watching.stderr().includes('%  '), 20_000, 'the first progress bar');
    watching.child.kill('SIGINT');
    const result = await watching.exited;
    expect(result.code).toBe(130);
    expect(result.stderr).toContain(`Stopped watching; task ${started.taskId} goes on in the background (RUNNING).`);
    expect(result.stderr).toContain(`requeue cancel ${started.taskId}`);
    expect((await api('GET', `/jobs/retry-tasks/${started.taskId}`)).body.status).toBe('RUNNING');

    expect((await ok(['cancel', started.taskId])).trim()).toBe(`Task ${started.taskId} is CANCELLING; jobs it already retried stay retried`);
    const cancelled = await eventually(async () => {
      const task = (await api('GET', `/jobs/retry-tasks/${started.taskId}`)).body;
      return task.status === 'CANCELLED' && task;
    }, 20_000, 'the task to be cancelled');
    expect(cancelled.retried).toBeLessThan(30);
  });

  it('removes failed jobs as a watched task', async () => {
    await failedJobs(3);
    const run = await requeue(['remove-all-failed', '--async', '--watch', '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ kind: 'remove', status: 'COMPLETED', removed: 3, failed: 0, total: 3 });
    expect(run.stderr).toMatch(/\[█{24}\] 100%  3\/3 \(3 removed, 0 failed\)/);
  });

  it('shows the metrics, and --json answers the API body', async () => {
    await failedJob();
    // the counts follow the table's stream, a moment after the job's state
    await eventually(async () => (await api('GET', '/jobs/metrics')).body.failed === 1, 20_000, 'the failed job counted');
    const view = await ok(['metrics']);
    expect(view).toMatch(/^failed\s+1$/m);
    expect(view).toMatch(/^dead-letter queue\s+\d+ visible, \d+ in flight, \d+ delayed$/m);
    expect(view).toMatch(/^failed, last 15 min\s+[▁▂▃▄▅▆▇█]{15} \d+$/m);
    const body = await json(['metrics']);
    expect(body).toMatchObject({ failed: 1, queues: { main: expect.any(Object), deadLetter: expect.any(Object) } });
    expect(Object.keys(body).sort()).toEqual(Object.keys((await api('GET', '/jobs/metrics')).body).sort());
  });

  it('pauses the worker, and resumes it: the job enqueued meanwhile then runs', async () => {
    const paused = await json(['pause']);
    expect(paused).toMatchObject({ message: expect.any(String), paused: true });
    expect(await ok(['metrics'])).toMatch(/^worker\s+paused/m);
    const { body } = await api('POST', '/jobs', { name: 'demo.echo', data: { while: 'paused' } });
    expect(body.state).toBe('waiting');

    const resumed = await requeue(['resume']);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout.trim()).toMatch(/resumed/i);
    await untilState(body.id, 'completed');
    expect(await ok(['metrics'])).toMatch(/^worker\s+running$/m);
  });

  it('starts a recount and shows it', async () => {
    const started = await json(['recount']);
    expect(started).toMatchObject({ taskId: expect.any(String), status: expect.any(String) });
    const done = await eventually(async () => {
      const view = await json(['recount', started.taskId]);
      return view.status === 'COMPLETED' && view;
    }, 20_000, 'the recount to complete');
    expect(done).toEqual((await api('GET', `/jobs/recount/${started.taskId}`)).body);
    expect(await ok(['recount', started.taskId])).toMatch(new RegExp(`^Recount ${started.taskId}, COMPLETED$`, 'm'));
  });
});
