import { DEFAULTS, FUNCTION_ENV, LOCAL_ENV } from '../lambda/adapters/settings';

/** The local runtime's settings, all optional, read from the environment. */
export interface Settings {
  /** The API's port; 0 picks a free one. */
  readonly port: number;
  /** The interface the API listens on. */
  readonly host: string;
  readonly sqsPort: number;
  readonly dynamoDbPort: number;
  /** Where dynalite keeps the table, so jobs survive a restart. */
  readonly dataDir: string;
  readonly visibilityTimeoutSeconds: number;
  /** Pollers feeding the worker side by side; 0 starts it paused. */
  readonly workerConcurrency: number;
  /**
   * How long the table stream's event source gathers changes before it invokes the counting function with
   * fewer than a full batch: counts in metrics lag by about this much.
   */
  readonly streamBatchingWindowMs: number;
  /** When set, requests need `Authorization: Bearer <apiKey>`. */
  readonly apiKey?: string;
}

/** Pollers feeding the worker, unless REQUEUE_WORKER_CONCURRENCY says otherwise; a resume after a start with 0 starts these. */
export const DEFAULT_WORKER_CONCURRENCY = DEFAULTS.localWorkerConcurrency;

export class SettingsError extends Error {
  override readonly name = 'SettingsError';
}

const integer = (env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number => {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!/^\s*\d+\s*$/.test(raw) || value < min || value > max) {
    throw new SettingsError(`${name} must be a whole number from ${min} to ${max}, got '${raw}'.`);
  }
  return value;
};

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/** Without an API key anyone who reaches the port may call the API: only loopback then. */
const host = (env: NodeJS.ProcessEnv): string => {
  const value = env[LOCAL_ENV.host]?.trim() || DEFAULTS.localHost;
  if (!LOOPBACK.test(value) && !env[LOCAL_ENV.apiKey]) {
    throw new SettingsError(
      `${LOCAL_ENV.host}=${value} would open the API to other machines without authentication; set ${LOCAL_ENV.apiKey} as well, or leave ${LOCAL_ENV.host} unset.`,
    );
  }
  return value;
};

/**
 * The key travels in a header, as bytes the server reads as Latin-1: curl sends
 * a non-ASCII key as UTF-8, which never matches, and fetch as Latin-1, or not
 * at all past U+00FF. Only visible ASCII reads the same everywhere (spaces at
 * the ends are trimmed off the header).
 */
const apiKey = (env: NodeJS.ProcessEnv): string | undefined => {
  const value = env[LOCAL_ENV.apiKey];
  if (!value) return undefined;
  const characters = [...value];
  const at = characters.findIndex((c) => c < '!' || c > '~');
  if (at >= 0) {
    const code = characters[at]!.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    throw new SettingsError(
      `${LOCAL_ENV.apiKey} can hold only letters, digits and ASCII punctuation (an HTTP header carries no other ` +
        `characters); its character ${at + 1} is U+${code}. Choose another key, for instance the output of ` +
        '`openssl rand -hex 32`.',
    );
  }
  return value;
};

export const readSettings = (env: NodeJS.ProcessEnv): Settings => {
  const key = apiKey(env);
  return {
    port: integer(env, LOCAL_ENV.port, DEFAULTS.localPort, 0, 65535),
    host: host(env),
    sqsPort: integer(env, LOCAL_ENV.sqsPort, DEFAULTS.localSqsPort, 0, 65535),
    dynamoDbPort: integer(env, LOCAL_ENV.dynamoDbPort, DEFAULTS.localDynamoDbPort, 0, 65535),
    dataDir: env[LOCAL_ENV.dataDir]?.trim() || DEFAULTS.localDataDir,
    // SQS accepts at most 12 hours
    visibilityTimeoutSeconds: integer(env, FUNCTION_ENV.visibilityTimeout, DEFAULTS.visibilityTimeoutSeconds, 1, 43200),
    // 0 pauses the worker: jobs wait in the queue, as with the event source mapping disabled on AWS
    workerConcurrency: integer(env, LOCAL_ENV.workerConcurrency, DEFAULT_WORKER_CONCURRENCY, 0, 50),
    // the stack's window is seconds, worth it where each invocation is billed; locally less
    streamBatchingWindowMs: integer(env, FUNCTION_ENV.streamWindowMs, DEFAULTS.localStreamWindowMs, 0, 300_000),
    ...(key !== undefined ? { apiKey: key } : {}),
  };
};
