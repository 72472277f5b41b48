import { removeDataDir, startLocalRuntime, tempDataDir } from '../support/local-runtime';

// A setting npm start cannot use stops it at once, with one sentence saying
// what is wrong and what to do, and no stack.

it.each([
  [
    { REQUEUE_API_KEY: 'clé' },
    "REQUEUE_API_KEY can hold only letters, digits and ASCII punctuation (an HTTP header carries no other characters); its character 3 is U+00E9. Choose another key, for instance the output of `openssl rand -hex 32`.",
  ],
  [{ REQUEUE_WORKER_CONCURRENCY: '-1' }, "REQUEUE_WORKER_CONCURRENCY must be a whole number from 0 to 50, got '-1'."],
  // read by the handlers as they load, as on Lambda at a cold start
  [{ REQUEUE_JOB_TIMEOUT_MS: 'abc' }, "Environment variable REQUEUE_JOB_TIMEOUT_MS must be a positive number, got 'abc'."],
])('refuses %j at start with a sentence', async (env, sentence) => {
  const dataDir = tempDataDir();
  try {
    // a runtime that started after all is stopped, and the test fails on its URL
    const start = startLocalRuntime({ dataDir, env }).then(async (runtime) => {
      await runtime.kill();
      return runtime.url;
    });
    const error: Error = await start.then(
      (url) => new Error(`npm start served ${url}`),
      (refusal: Error) => refusal,
    );
    expect(error.message).toMatch(/^npm start exited with code 1 before it was ready/);
    expect(error.message.trimEnd().split('\n').at(-1)).toBe(sentence);
    expect(error.message).not.toMatch(/^\s+at /m);
  } finally {
    removeDataDir(dataDir);
  }
});
