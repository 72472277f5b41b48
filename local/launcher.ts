import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../infra/project-root';

/**
 * `npm start` run as a child process, as a user runs it, for whatever drives
 * the local runtime from outside: the end-to-end tests and the benches.
 */

export const ROOT = PROJECT_ROOT;

/** The budget for `npm start` to serve its port. */
export const STARTUP_BUDGET_MS = 15_000;

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Headers;
  /** Parsed JSON; the raw text when the body is not JSON. */
  readonly body: any;
  readonly text: string;
}

export interface LocalRuntime {
  /** As printed on the ready line. */
  readonly url: string;
  readonly dataDir: string;
  /** From spawning `npm start` to its ready line. */
  readonly startupMs: number;
  /** An HTTP call to the runtime, passed to the `check` the runtime was started with. */
  request(method: string, path: string, body?: unknown): Promise<HttpAnswer>;
  /** Everything printed so far, stdout and stderr interleaved. */
  output(): string;
  /** npm's process group: npm and the runtime it started. */
  readonly pgid: number;
  /** Ctrl-C, as a terminal sends it to the whole process group; resolves once every process of it has exited (within `timeoutMs`, @default 10 s). */
  interrupt(timeoutMs?: number): Promise<void>;
  /** SIGKILL the whole process group: a crash, no clean-up. */
  kill(): Promise<void>;
}

export const tempDataDir = (): string => mkdtempSync(path.join(tmpdir(), 'requeue-e2e-'));
export const removeDataDir = (dir: string): void => rmSync(dir, { recursive: true, force: true });

const READY = /requeue is running at (http:\/\/\S+)/;

/** Told every answer `request` gets; throws to refuse it. */
export type AnswerCheck = (method: string, path: string, answer: HttpAnswer) => void;

const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));

const groupAlive = (pgid: number): boolean => {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
};

/** A signal to every process of group `pgid`; none left is no error. */
export const signalGroup = (pgid: number, signal: NodeJS.Signals): void => {
  try {
    process.kill(-pgid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
};

/** npm may exit before the runtime it started: wait for the whole group. */
const groupExited = async (pgid: number, timeoutMs: number): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (groupAlive(pgid)) {
    if (Date.now() > deadline) throw new Error(`processes of group ${pgid} still run ${timeoutMs} ms after the signal`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

/**
 * `npm start` as a user runs it, on free ports and its own data folder, in a
 * process group of its own so signals reach npm and the runtime alike.
 */
export const startLocalRuntime = async (
  options: {
    dataDir?: string;
    env?: Record<string, string>;
    /** The shell npm runs the script with (npm's --script-shell); macOS's sh is bash. @default npm's own */
    scriptShell?: string;
    /** How long to wait for the ready line. @default STARTUP_BUDGET_MS */
    startupBudgetMs?: number;
    /** Told npm's process group as soon as it is spawned, before the runtime is ready. */
    onSpawn?: (pgid: number) => void;
    /** @default none */
    check?: AnswerCheck;
  } = {},
): Promise<LocalRuntime> => {
  const dataDir = options.dataDir ?? tempDataDir();
  const startedAt = Date.now();
  const args = ['start', ...(options.scriptShell ? [`--script-shell=${options.scriptShell}`] : [])];
  const child = spawn('npm', args, {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      PORT: '0',
      SQS_PORT: '0',
      DYNAMODB_PORT: '0',
      REQUEUE_DATA_DIR: dataDir,
      ...options.env,
    },
  });
  options.onSpawn?.(child.pid!);
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const budgetMs = options.startupBudgetMs ?? STARTUP_BUDGET_MS;

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      signalGroup(child.pid!, 'SIGKILL');
      reject(new Error(`npm start printed no ready line within ${budgetMs} ms. Output:\n${output}`));
    }, budgetMs);
    const onData = () => {
      const match = READY.exec(output);
      if (!match) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      resolve(match[1]!);
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited with code ${code} before it was ready. Output:\n${output}`));
    });
  });
  const startupMs = Date.now() - startedAt;

  return {
    url,
    dataDir,
    startupMs,
    pgid: child.pid!,
    output: () => output,
    request: async (method, requestPath, body) => {
      const response = await fetch(`${url}${requestPath}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON: the test sees the text
      }
      const answer = { status: response.status, headers: response.headers, body: parsed, text };
      options.check?.(method, requestPath, answer);
      return answer;
    },
    interrupt: async (timeoutMs = 10_000) => {
      const done = exited(child);
      signalGroup(child.pid!, 'SIGINT');
      await done;
      await groupExited(child.pid!, timeoutMs);
    },
    kill: async () => {
      const done = exited(child);
      signalGroup(child.pid!, 'SIGKILL');
      await done;
      await groupExited(child.pid!, 5_000);
    },
  };
};
