import { removeDataDir, startLocalRuntime as launch, tempDataDir, type LocalRuntime } from '../../local/launcher';
import { createResponseChecker, type ResponseChecker } from './response-checker';

export * from '../../local/launcher';

let checker: ResponseChecker | undefined;
/** Every answer a test's runtime gets must be one the OpenAPI description gives, or the test fails. */
const checkResponse: ResponseChecker = (method, url, answer) => (checker ??= createResponseChecker())(method, url, answer);

/** `npm start` for a test: every answer checked against the OpenAPI description (ResponseMismatchError). */
export const startLocalRuntime = (options: Parameters<typeof launch>[0] = {}): Promise<LocalRuntime> =>
  launch({ check: checkResponse, ...options });

/**
 * Runtimes started one after another on one data folder (a restart, as a
 * user's next `npm start`), for one test file: after its tests, every one
 * still running is killed and the folder removed.
 */
export const runtimesOnOneDataDir = (env: Record<string, string> = {}) => {
  const dataDir = tempDataDir();
  const started: LocalRuntime[] = [];
  afterAll(async () => {
    for (const runtime of started) await runtime.kill();
    removeDataDir(dataDir);
  });
  return {
    dataDir,
    start: async (options: { env?: Record<string, string>; scriptShell?: string } = {}): Promise<LocalRuntime> => {
      const runtime = await startLocalRuntime({ dataDir, env: { ...env, ...options.env }, scriptShell: options.scriptShell });
      started.push(runtime);
      return runtime;
    },
  };
};
