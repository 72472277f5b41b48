/**
 * `requeue`: the operator's command line for a requeue API, local or
 * deployed. One command per route; people get tables and local times,
 * scripts `--json`, the API's body as it is.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { version } from '../package.json';
import {
  ApiError,
  createApiClient,
  resolveTarget,
  UnreachableError,
  UsageError,
  type ApiAnswer,
  type ApiClient,
  type Query,
} from './api-client';
import { CredentialsError, executeApiRegionOf } from './aws-signing';
import { serveDashboard } from './dashboard-server';
import { toApiTime } from './time-option';
import {
  failedJobsView,
  jobsView,
  jobView,
  metricsView,
  recountView,
  tasksView,
  taskView,
  type FailedJobRow,
  type JobDetails,
  type JobSummaryRow,
  type MetricsBody,
  type RecountBody,
} from './views';
import { summaryLine, watchTask, type TaskView } from './watch-task';

/** Exit codes: scripts tell "the API said no" from "the command was wrong" from "nothing answered". */
export const EXIT = { ok: 0, apiError: 1, usage: 2, unreachable: 3, interrupted: 130 } as const;

class ExitRequest extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

interface GlobalOptions {
  url: string;
  apiKey?: string;
  token?: string;
  region?: string;
  connectTo?: string;
  json?: boolean;
}

const out = (text: string): void => void process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
const note = (text: string): void => void process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
const printJson = (body: unknown): void => out(JSON.stringify(body, null, 2));

const jobPath = (prefix: string, id: string): string => `${prefix}/${encodeURIComponent(id)}`;

/** A whole number stays a JSON number; anything else goes as typed, for the API to refuse with its own sentence. */
const numberOrText = (text: string | undefined): number | string | undefined =>
  text === undefined ? undefined : /^\d+$/.test(text) ? Number(text) : text;

/** `--data '{"a": 1}'`, `--data @file.json`, `--data -` (standard input). */
const readJsonArgument = (text: string, option: string): unknown => {
  let source = text;
  if (text === '-') source = readFileSync(0, 'utf8');
  else if (text.startsWith('@')) {
    try {
      source = readFileSync(text.slice(1), 'utf8');
    } catch (error) {
      throw new UsageError(`${option} ${text}: ${(error as Error).message}`);
    }
  }
  try {
    return JSON.parse(source);
  } catch (error) {
    throw new UsageError(`${option} must be JSON (or @file, or - for standard input): ${(error as Error).message}`);
  }
};

const program = new Command('requeue');

const globals = (command: Command): GlobalOptions => command.optsWithGlobals<GlobalOptions>();

const clientFor = (command: Command): ApiClient => {
  const options = globals(command);
  const source = (key: string) => command.getOptionValueSourceWithGlobals(key);
  let { apiKey, token } = options;
  // a key or token typed on the command line wins over one the environment holds
  if (apiKey !== undefined && token !== undefined) {
    if (source('apiKey') === 'env' && source('token') !== 'env') apiKey = undefined;
    else if (source('token') === 'env' && source('apiKey') !== 'env') token = undefined;
  }
  // REQUEUE_API_KEY is the local runtime's key: on AWS it would only keep the request from being signed
  const host = URL.canParse(options.url) ? new URL(options.url).hostname : '';
  if (apiKey !== undefined && source('apiKey') === 'env' && (options.region || executeApiRegionOf(host))) {
    apiKey = undefined;
  }
  return createApiClient(resolveTarget({ url: options.url, apiKey, token, region: options.region, connectTo: options.connectTo }));
};

/** X-Next-Cursor: more remain. Said on stderr, so that stdout is the API's body alone. */
const tellCursor = (answer: ApiAnswer, command: Command): void => {
  const cursor = answer.headers['x-next-cursor'];
  if (typeof cursor !== 'string') return;
  if (globals(command).json) note(`X-Next-Cursor: ${cursor}`);
  else note(`More remain: add --cursor ${cursor} (or --all for every page).`);
};

/** Every page of a listing, following X-Next-Cursor, as one array. */
const listAll = async (client: ApiClient, path: string, query: Query): Promise<unknown[]> => {
  const items: unknown[] = [];
  let cursor: string | undefined;
  do {
    const answer = await client.call('GET', path, { query: { ...query, cursor } });
    items.push(...(answer.body as unknown[]));
    const next = answer.headers['x-next-cursor'];
    cursor = typeof next === 'string' ? next : undefined;
  } while (cursor !== undefined);
  return items;
};

const list = async (command: Command, path: string, query: Query, options: { all?: boolean }, view: (rows: any[]) => string) => {
  const client = clientFor(command);
  if (options.all) {
    const rows = await listAll(client, path, query);
    if (globals(command).json) printJson(rows);
    else out(view(rows));
    return;
  }
  const answer = await client.call('GET', path, { query });
  if (globals(command).json) printJson(answer.body);
  else out(view(answer.body as any[]));
  tellCursor(answer, command);
};

/** The sentence of a `{message, ...}` answer, or its JSON. */
const messageOr = (command: Command, body: unknown, human: (body: any) => string = (b) => b.message): void => {
  if (globals(command).json) printJson(body);
  else out(human(body));
};

const watchUntilDone = async (command: Command, client: ApiClient, taskId: string): Promise<void> => {
  const { task, interrupted } = await watchTask(client, taskId, { out: process.stderr });
  if (interrupted) {
    note(
      `Stopped watching; task ${taskId} goes on in the background (${task.status}). ` +
        `Follow it again with \`requeue task ${taskId} --watch\`, stop it with \`requeue cancel ${taskId}\`.`,
    );
    throw new ExitRequest(EXIT.interrupted);
  }
  if (globals(command).json) printJson(task);
  else out(summaryLine(task));
  if (task.status === 'FAILED') throw new ExitRequest(EXIT.apiError);
};

/** The options retry-all and remove-all-failed share, as the API's JSON body takes them. */
const addBulkOptions = (command: Command): Command =>
  command
    .option('--name <name>', 'only jobs of this name')
    .option('--error <text>', 'only jobs whose error contains this text (any case)')
    .option('--since <time>', 'only jobs failed at or after: epoch ms, ISO 8601, local "2026-12-02 09:30", or "2h" ago')
    .option('--until <time>', 'only jobs failed at or before (as --since)')
    .option('--limit <n>', 'at most this many jobs')
    .option('--dry-run', 'count the matching jobs; change nothing')
    .option('--async', 'run as a background task, however few match (past 1,000 jobs it always is)')
    .option('--watch', 'when it runs as a task: a progress bar until it ends (Ctrl-C stops watching, not the task)');

interface BulkOptions {
  name?: string;
  error?: string;
  since?: string;
  until?: string;
  limit?: string;
  dryRun?: boolean;
  async?: boolean;
  maxPerSecond?: string;
  watch?: boolean;
}

const bulkBody = (o: BulkOptions) => ({
  name: o.name,
  error: o.error,
  // in a JSON body epoch ms are a JSON number
  since: o.since === undefined ? undefined : numberOrText(toApiTime(o.since)),
  until: o.until === undefined ? undefined : numberOrText(toApiTime(o.until)),
  limit: numberOrText(o.limit),
  dryRun: o.dryRun,
  async: o.async,
  maxPerSecond: numberOrText(o.maxPerSecond),
});

const runBulk = async (command: Command, path: string, options: BulkOptions, human: (body: any) => string): Promise<void> => {
  const client = clientFor(command);
  const answer = await client.call('POST', path, { body: JSON.parse(JSON.stringify(bulkBody(options))) });
  const body = answer.body as { taskId?: string };
  if (answer.status === 202 && body.taskId !== undefined) {
    if (options.watch) {
      note(`Task ${body.taskId} started; watching (Ctrl-C stops watching, not the task).`);
      await watchUntilDone(command, client, body.taskId);
      return;
    }
    messageOr(command, body, (b) => `${b.message}\nFollow it: requeue task ${b.taskId} --watch`);
    return;
  }
  messageOr(command, body, human);
};

/** Runs a command's action; every failure becomes its exit code and one sentence on stderr. */
const action =
  <A extends unknown[]>(fn: (...args: A) => Promise<void>) =>
  async (...args: A): Promise<void> => {
    const command = args[args.length - 1] as Command;
    try {
      await fn(...args);
    } catch (error) {
      if (error instanceof ExitRequest) throw error;
      if (error instanceof ApiError) {
        if (globals(command).json && typeof error.body === 'object') printJson(error.body);
        note(`Error: ${error.message}${error.code ? ` (${error.code}, HTTP ${error.status})` : ` (HTTP ${error.status})`}`);
        throw new ExitRequest(EXIT.apiError);
      }
      if (error instanceof UsageError) {
        note(`Error: ${error.message}`);
        throw new ExitRequest(EXIT.usage);
      }
      if (error instanceof UnreachableError || error instanceof CredentialsError) {
        note(`Error: ${error.message}`);
        throw new ExitRequest(EXIT.unreachable);
      }
      throw error;
    }
  };

program
  .version(version)
  .description('Operate a requeue job queue: the local runtime (`npm start`) or a stack deployed on AWS.')
  .addOption(new Option('--url <url>', "the API's base URL (the stack's ApiUrl on AWS)").env('REQUEUE_URL').default('http://localhost:3000'))
  .addOption(new Option('--api-key <key>', "the local runtime's REQUEUE_API_KEY, sent as Authorization: Bearer").env('REQUEUE_API_KEY'))
  .addOption(new Option('--token <jwt>', 'a JWT for an API deployed with jwtIssuer, sent as Authorization: Bearer').env('REQUEUE_TOKEN'))
  .option('--region <region>', 'sign with SigV4 for this region: an API behind a custom domain name (an execute-api URL names its own)')
  .option(
    '--connect-to <origin>',
    "send the requests to this origin instead of the URL's host, the Host header and the signature still naming the URL's " +
      "(as curl --connect-to): a private API through its VPC endpoint's DNS name",
  )
  .option('--json', "print the API's JSON body as it is (for scripts)")
  .showHelpAfterError('(requeue --help lists the commands and options)')
  .addHelpText(
    'after',
    `
Requests to an execute-api URL are signed with SigV4 using the AWS SDK's default
credentials (environment, AWS_PROFILE, SSO), unless --token or --api-key is given.
Times are shown in local time. Exit codes: 0 done, 1 the API answered an error
(its sentence on stderr), 2 a wrong command line, 3 no answer (or no credentials),
130 Ctrl-C while watching a task (the task goes on).`,
  )
  .exitOverride();

program
  .command('enqueue')
  .description('enqueue a job (POST /jobs)')
  .argument('<name>', "the job's name: picks its processor")
  .option('--data <json>', "the job's data: JSON, @file.json, or - for standard input")
  .option('--attempts <n>', 'executions allowed before it fails (default 3)')
  .addOption(new Option('--backoff <type>', 'wait between attempts').choices(['fixed', 'exponential']))
  .option('--backoff-delay <ms>', 'the backoff delay, milliseconds (with --backoff; default 0)')
  .option('--delay <ms>', 'wait this long before the first attempt, milliseconds')
  .option('--timeout <ms>', 'the time limit of one execution, milliseconds')
  .option('--job-id <id>', 'your own id for the job (a second job with it is refused)')
  .action(
    action(async (name: string, o: Record<string, string | undefined>, command: Command) => {
      if (o.backoffDelay !== undefined && o.backoff === undefined) throw new UsageError('--backoff-delay needs --backoff fixed or exponential');
      const opts = {
        attempts: numberOrText(o.attempts),
        backoff: o.backoff === undefined ? undefined : { type: o.backoff, delay: numberOrText(o.backoffDelay) ?? 0 },
        delay: numberOrText(o.delay),
        timeout: numberOrText(o.timeout),
        jobId: o.jobId,
      };
      const definedOpts = JSON.parse(JSON.stringify(opts)) as Record<string, unknown>;
      const body = {
        name,
        ...(o.data === undefined ? {} : { data: readJsonArgument(o.data, '--data') }),
        ...(Object.keys(definedOpts).length > 0 ? { opts: definedOpts } : {}),
      };
      const answer = await clientFor(command).call('POST', '/jobs', { body });
      messageOr(command, answer.body, (b) => `Enqueued job ${b.id} (${b.name}), ${b.state}`);
    }),
  );

program
  .command('failed')
  .description('list failed jobs, the most recently failed first (GET /jobs/failed)')
  .option('--name <name>', 'only jobs of this name')
  .option('--error <text>', 'only jobs whose error contains this text (any case)')
  .option('--since <time>', 'failed at or after: epoch ms, ISO 8601, local "2026-12-02 09:30", or "2h" ago')
  .option('--until <time>', 'failed at or before (as --since)')
  .option('--limit <n>', 'jobs per page (1-1000, default 50)')
  .option('--cursor <cursor>', 'the next page: the cursor the last page ended with')
  .option('--all', 'every page, one after another')
  .action(
    action(async (o: Record<string, any>, command: Command) => {
      const query = {
        name: o.name,
        error: o.error,
        since: o.since === undefined ? undefined : toApiTime(o.since),
        until: o.until === undefined ? undefined : toApiTime(o.until),
        limit: o.limit,
        cursor: o.cursor,
      };
      await list(command, '/jobs/failed', query, o, (rows: FailedJobRow[]) => failedJobsView(rows));
    }),
  );

program
  .command('jobs')
  .description('list the jobs in one state, the most recent change first (GET /jobs?state=)')
  .requiredOption('--state <state>', 'waiting, active, delayed, completed or failed')
  .option('--name <name>', 'only jobs of this name')
  .option('--limit <n>', 'jobs per page (1-1000, default 50)')
  .option('--cursor <cursor>', 'the next page: the cursor the last page ended with')
  .option('--all', 'every page, one after another')
  .action(
    action(async (o: Record<string, any>, command: Command) => {
      const query = { state: o.state, name: o.name, limit: o.limit, cursor: o.cursor };
      await list(command, '/jobs', query, o, (rows: JobSummaryRow[]) => jobsView(o.state, rows));
    }),
  );

program
  .command('show')
  .description('one job: data, options, error and stack, every execution across retries (GET /jobs/details/{jobId})')
  .argument('<jobId>')
  .action(
    action(async (jobId: string, _o: unknown, command: Command) => {
      const answer = await clientFor(command).call('GET', jobPath('/jobs/details', jobId));
      messageOr(command, answer.body, (job: JobDetails) => jobView(job));
    }),
  );

program
  .command('retry')
  .description('retry one failed job, optionally with corrected data (POST /jobs/retry/{jobId})')
  .argument('<jobId>')
  .option('--data <json>', 'retry with this data instead: JSON, @file.json, or - for standard input')
  .action(
    action(async (jobId: string, o: { data?: string }, command: Command) => {
      const body = o.data === undefined ? undefined : { data: readJsonArgument(o.data, '--data') };
      const answer = await clientFor(command).call('POST', jobPath('/jobs/retry', jobId), { body });
      messageOr(command, answer.body);
    }),
  );

addBulkOptions(
  program
    .command('retry-all')
    .description('retry every failed job, or those the filters take (POST /jobs/retry-all-failed)')
    .option('--max-per-second <n>', "a background task's speed, jobs a second (1-10000)"),
).action(
  action(async (o: BulkOptions, command: Command) =>
    runBulk(command, '/jobs/retry-all-failed', o, (b) =>
      b.dryRun ? b.message : `${b.message}: ${b.retriedCount} retried, ${b.failedCount} could not be, of ${b.total} matching`,
    ),
  ),
);

program
  .command('remove')
  .description('remove a job that is not active (DELETE /jobs/{jobId})')
  .argument('<jobId>')
  .action(
    action(async (jobId: string, _o: unknown, command: Command) => {
      const answer = await clientFor(command).call('DELETE', jobPath('/jobs', jobId));
      messageOr(command, answer.body);
    }),
  );

addBulkOptions(
  program.command('remove-all-failed').description('remove every failed job, or those the filters take (POST /jobs/remove-all-failed)'),
).action(
  action(async (o: BulkOptions, command: Command) =>
    runBulk(command, '/jobs/remove-all-failed', o, (b) => (b.dryRun ? b.message : `${b.message}: ${b.removedCount} removed of ${b.total} matching`)),
  ),
);

program
  .command('promote')
  .description('run a delayed job now (POST /jobs/promote/{jobId})')
  .argument('<jobId>')
  .action(
    action(async (jobId: string, _o: unknown, command: Command) => {
      const answer = await clientFor(command).call('POST', jobPath('/jobs/promote', jobId));
      messageOr(command, answer.body);
    }),
  );

program
  .command('tasks')
  .description('retry and remove tasks, the most recently started first (GET /jobs/retry-tasks)')
  .option('--limit <n>', 'tasks per page')
  .option('--cursor <cursor>', 'the next page: the cursor the last page ended with')
  .option('--all', 'every page, one after another')
  .action(
    action(async (o: Record<string, any>, command: Command) => {
      await list(command, '/jobs/retry-tasks', { limit: o.limit, cursor: o.cursor }, o, (rows: TaskView[]) => tasksView(rows));
    }),
  );

program
  .command('task')
  .description("a retry or remove task's progress (GET /jobs/retry-tasks/{taskId})")
  .argument('<taskId>')
  .option('--watch', 'a progress bar with rate and ETA until the task ends (Ctrl-C stops watching, not the task)')
  .action(
    action(async (taskId: string, o: { watch?: boolean }, command: Command) => {
      const client = clientFor(command);
      if (o.watch) return watchUntilDone(command, client, taskId);
      const answer = await client.call('GET', jobPath('/jobs/retry-tasks', taskId));
      messageOr(command, answer.body, (task) => taskView(task));
    }),
  );

program
  .command('cancel')
  .description('stop a task; jobs it already retried stay retried (POST /jobs/retry-tasks/{taskId}/cancel)')
  .argument('<taskId>')
  .action(
    action(async (taskId: string, _o: unknown, command: Command) => {
      const answer = await clientFor(command).call('POST', `${jobPath('/jobs/retry-tasks', taskId)}/cancel`);
      messageOr(command, answer.body, (task: TaskView) => `Task ${task.taskId} is ${task.status}; jobs it already retried stay retried`);
    }),
  );

for (const [name, description] of [
  ['pause', 'stop the worker taking jobs; enqueue goes on, jobs wait (POST /jobs/pause)'],
  ['resume', 'start the worker taking jobs again (POST /jobs/resume)'],
] as const) {
  program
    .command(name)
    .description(description)
    .action(
      action(async (_o: unknown, command: Command) => {
        const answer = await clientFor(command).call('POST', `/jobs/${name}`);
        messageOr(command, answer.body);
      }),
    );
}

program
  .command('metrics')
  .description('counts per state, queue depths, completed and failed per minute (GET /jobs/metrics)')
  .action(
    action(async (_o: unknown, command: Command) => {
      const answer = await clientFor(command).call('GET', '/jobs/metrics');
      messageOr(command, answer.body, (m: MetricsBody) => metricsView(m));
    }),
  );

program
  .command('recount')
  .description('count every job afresh and set the counters right (POST /jobs/recount), or show a recount (GET /jobs/recount/{taskId})')
  .argument('[taskId]', 'a recount started before: show its progress')
  .action(
    action(async (taskId: string | undefined, _o: unknown, command: Command) => {
      const client = clientFor(command);
      const answer =
        taskId === undefined ? await client.call('POST', '/jobs/recount') : await client.call('GET', jobPath('/jobs/recount', taskId));
      messageOr(command, answer.body, (r: RecountBody) => recountView(r));
    }),
  );

program
  .command('dashboard')
  .description('serve the dashboard on this machine, its calls forwarded to --url (signed, for a deployed stack)')
  .option('--port <n>', 'the port on 127.0.0.1 (0: a free one)', '3001')
  .action(
    action(async (o: { port: string }, command: Command) => {
      if (!/^\d+$/.test(o.port) || Number(o.port) > 65_535) throw new UsageError(`--port must be a port number, got '${o.port}'`);
      const client = clientFor(command);
      const { url, stop } = await serveDashboard({ client, port: Number(o.port) });
      const auth = client.target.authorization;
      const how =
        auth.kind === 'sigv4'
          ? `signed with SigV4 (${auth.region}) by your AWS credentials`
          : auth.kind === 'bearer'
            ? 'with your token'
            : 'unsigned';
      out(`requeue dashboard at ${url}/dashboard, forwarding to ${client.target.url.origin}${client.target.url.pathname.replace(/\/$/, '')} ${how}`);
      out('No credential reaches the browser. Ctrl-C stops it.');
      await new Promise<void>((resolve) => {
        const onSignal = () => {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          void stop().then(resolve);
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
      });
      note('Dashboard stopped.');
    }),
  );

const main = async (): Promise<number> => {
  try {
    await program.parseAsync(process.argv);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof ExitRequest) return error.code;
    if (error instanceof CommanderError) {
      // help and version are answers, not errors
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    note(`requeue failed unexpectedly:\n${(error as Error).stack ?? String(error)}`);
    return EXIT.apiError;
  }
};

void main().then((code) => {
  process.exitCode = code;
});

