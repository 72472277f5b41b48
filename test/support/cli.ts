import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './build';

/**
 * The `requeue` CLI as a user runs it: the package's bin, a process of its
 * own, its output and exit code. The environment is the test's, less every
 * setting of requeue's and AWS's own, so that nothing on the machine (a
 * profile, a config file, instance metadata) answers for a test.
 */

const { bin } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
export const CLI_BIN = path.join(ROOT, bin.requeue!);

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const cleanEnv = (env: Record<string, string | undefined>): NodeJS.ProcessEnv => {
  const base: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (/^(AWS_|REQUEUE_)/.test(name)) continue;
    base[name] = value;
  }
  return {
    ...base,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: path.join(ROOT, 'no-such-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(ROOT, 'no-such-aws-credentials'),
    ...env,
  };
};

export interface CliProcess {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  readonly exited: Promise<CliResult>;
}

/** Start `requeue <args>`; the caller reads its output as it comes and may signal it. */
export const startCli = (args: readonly string[], options: { env?: Record<string, string | undefined>; input?: string } = {}): CliProcess => {
  const child = spawn(process.execPath, [CLI_BIN, ...args], {
    cwd: ROOT,
    env: cleanEnv(options.env ?? {}),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin!.end(options.input ?? '');
  const exited = new Promise<CliResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
};

/** Run `requeue <args>` to its end. */
export const runCli = (args: readonly string[], options: { env?: Record<string, string | undefined>; input?: string } = {}): Promise<CliResult> =>
  startCli(args, options).exited;
