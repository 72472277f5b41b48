import { eventually, startHarness, type Harness } from '../support/requeue-harness';

let h: Harness;
let failedId: string;

beforeAll(async () => {
  h = await startHarness();
  h.startWorker();
  // one job of each end state, so a bad request that changed something would show in the counts
  const done = await h.request('POST', '/jobs', { name: 'demo.echo', opts: { jobId: 'done-1' } });
  const failed = await h.request('POST', '/jobs', { name: 'demo.fail', opts: { attempts: 1 } });
  failedId = failed.body.id;
  await eventually(async () => {
    const m = (await h.request('GET', '/jobs/metrics')).body;
    return m.completed === 1 && m.failed === 1;
  }, 10_000, 'one completed and one failed job counted');
  expect(done.status).toBe(201);
});
afterAll(() => h.stop());

const long = 'x'.repeat(129);

// [what, method, path, body (string = raw), status, code, sentence]
const BAD_INPUTS: [string, string, string, unknown, number, string, RegExp][] = [
  ['malformed JSON', 'POST', '/jobs', '{"name": "a",', 400, 'INVALID_JSON', /not valid JSON/],
  ['an empty body', 'POST', '/jobs', undefined, 400, 'VALIDATION_ERROR', /body is empty/],
  ['a body that is an array', 'POST', '/jobs', [1, 2], 400, 'VALIDATION_ERROR', /must be a JSON object/],
  ['a body that is a string', 'POST', '/jobs', '"job"', 400, 'VALIDATION_ERROR', /must be a JSON object/],
  ['a missing name', 'POST', '/jobs', { data: 1 }, 400, 'VALIDATION_ERROR', /name is required/],
  ['an empty name', 'POST', '/jobs', { name: '' }, 400, 'VALIDATION_ERROR', /name must be 1-128/],
  ['a name with a slash', 'POST', '/jobs', { name: 'a/b' }, 400, 'VALIDATION_ERROR', /name must be 1-128/],
  ['a name of 129 characters', 'POST', '/jobs', { name: long }, 400, 'VALIDATION_ERROR', /name must be 1-128/],
  ['a name that is a number', 'POST', '/jobs', { name: 7 }, 400, 'VALIDATION_ERROR', /name is required/],
  ['data nested 10,000 levels deep', 'POST', '/jobs', `{"name": "a", "data": ${'['.repeat(10_000)}${']'.repeat(10_000)}}`, 400, 'VALIDATION_ERROR', /deeper than 64 levels/],
  ['a number that is not finite in data', 'POST', '/jobs', '{"name": "a", "data": {"x": 1e400}}', 400, 'VALIDATION_ERROR', /1e400, beyond what a JSON number can hold/],
  ['an integer beyond 2^53 in data', 'POST', '/jobs', '{"name": "a", "data": [12345678901234567890]}', 400, 'VALIDATION_ERROR', /would lose digits/],
  ['attempts 1e400', 'POST', '/jobs', '{"name": "a", "opts": {"attempts": 1e400}}', 400, 'VALIDATION_ERROR', /beyond what a JSON number/],
  ['attempts 0', 'POST', '/jobs', { name: 'a', opts: { attempts: 0 } }, 400, 'VALIDATION_ERROR', /attempts must be an integer from 1 to 100/],
  ['attempts 101', 'POST', '/jobs', { name: 'a', opts: { attempts: 101 } }, 400, 'VALIDATION_ERROR', /from 1 to 100/],
  ['attempts 2.5', 'POST', '/jobs', { name: 'a', opts: { attempts: 2.5 } }, 400, 'VALIDATION_ERROR', /attempts must be an integer/],
  ['attempts as text', 'POST', '/jobs', { name: 'a', opts: { attempts: '3' } }, 400, 'VALIDATION_ERROR', /attempts must be an integer/],
  ['an unknown backoff type', 'POST', '/jobs', { name: 'a', opts: { backoff: { type: 'linear', delay: 10 } } }, 400, 'VALIDATION_ERROR', /"fixed" or "exponential"/],
  ['a negative backoff delay', 'POST', '/jobs', { name: 'a', opts: { backoff: { type: 'fixed', delay: -5 } } }, 400, 'VALIDATION_ERROR', /backoff.delay must be 0 or more/],
  ['a backoff delay over 12 hours', 'POST', '/jobs', { name: 'a', opts: { backoff: { type: 'fixed', delay: 43_200_001 } } }, 400, 'VALIDATION_ERROR', /backoff.delay must be at most/],
  ['a negative delay', 'POST', '/jobs', { name: 'a', opts: { delay: -1 } }, 400, 'VALIDATION_ERROR', /opts.delay must be 0 or more/],
  ['a delay over 7 days', 'POST', '/jobs', { name: 'a', opts: { delay: 604_800_001 } }, 400, 'VALIDATION_ERROR', /opts.delay must be at most/],
  ['a jobId with a space', 'POST', '/jobs', { name: 'a', opts: { jobId: 'a b' } }, 400, 'VALIDATION_ERROR', /jobId must be 1-128/],
  ['a jobId of 129 characters', 'POST', '/jobs', { name: 'a', opts: { jobId: long } }, 400, 'VALIDATION_ERROR', /jobId must be 1-128/],
  ['a jobId of two dots', 'POST', '/jobs', { name: 'a', opts: { jobId: '..' } }, 400, 'VALIDATION_ERROR', /not dots alone/],
  ['a jobId of one dot', 'POST', '/jobs', { name: 'a', opts: { jobId: '.' } }, 400, 'VALIDATION_ERROR', /not dots alone/],
  ['an unknown option', 'POST', '/jobs', { name: 'a', opts: { retries: 3 } }, 400, 'VALIDATION_ERROR', /Unknown field opts.retries/],
  ['data over 160 KiB', 'POST', '/jobs', { name: 'a', data: 'x'.repeat(160 * 1024) }, 413, 'PAYLOAD_TOO_LARGE', /limit is 163840 bytes/],
  ['limit 0', 'GET', '/jobs/failed?limit=0', undefined, 400, 'VALIDATION_ERROR', /limit must be a whole number from 1 to 1000/],
  ['limit 1001', 'GET', '/jobs/failed?limit=1001', undefined, 400, 'VALIDATION_ERROR', /from 1 to 1000/],
  ['limit not a number', 'GET', '/jobs/failed?limit=ten', undefined, 400, 'VALIDATION_ERROR', /got 'ten'/],
  ['limit 2.5', 'GET', '/jobs/failed?limit=2.5', undefined, 400, 'VALIDATION_ERROR', /whole number/],
  ['a malformed cursor', 'GET', '/jobs/failed?cursor=%%%', undefined, 400, 'VALIDATION_ERROR', /X-Next-Cursor/],
  ['a forged cursor', 'GET', `/jobs/failed?cursor=${Buffer.from('{"pk":1}').toString('base64url')}`, undefined, 400, 'VALIDATION_ERROR', /X-Next-Cursor/],
  ['since empty', 'GET', '/jobs/failed?since=', undefined, 400, 'VALIDATION_ERROR', /since must be epoch milliseconds \(digits only\) or an ISO 8601 date-time/],
  ['since in hex', 'GET', '/jobs/failed?since=0x10', undefined, 400, 'VALIDATION_ERROR', /digits only/],
  ['until with an exponent', 'GET', '/jobs/failed?until=1e3', undefined, 400, 'VALIDATION_ERROR', /digits only/],
  ['limit with spaces', 'GET', '/jobs/failed?limit=%20100%20', undefined, 400, 'VALIDATION_ERROR', /got ' 100 '/],
  ['a repeated query key', 'GET', '/jobs/failed?limit=1&limit=2', undefined, 400, 'VALIDATION_ERROR', /limit is given more than once/],
  ['retry-all limit as text in the body', 'POST', '/jobs/retry-all-failed', { limit: '5' }, 400, 'VALIDATION_ERROR', /limit must be a whole number/],
  ['retry-all maxPerSecond true', 'POST', '/jobs/retry-all-failed?maxPerSecond=true', undefined, 400, 'VALIDATION_ERROR', /maxPerSecond must be/],
  ['retry-all since null in the body', 'POST', '/jobs/retry-all-failed', { since: null }, 400, 'VALIDATION_ERROR', /since must be/],
  ['retry-all limit [2] in the body', 'POST', '/jobs/retry-all-failed', { limit: [2] }, 400, 'VALIDATION_ERROR', /limit must be/],
  ['a job id of 129 characters (details)', 'GET', `/jobs/details/${long}`, undefined, 400, 'VALIDATION_ERROR', /job id in the path/],
  ['a job id of 129 characters (retry)', 'POST', `/jobs/retry/${long}`, undefined, 400, 'VALIDATION_ERROR', /job id in the path/],
  ['a job id with unsafe characters', 'POST', '/jobs/retry/a%20b', undefined, 400, 'VALIDATION_ERROR', /job id in the path/],
  ['a job id of three dots', 'GET', '/jobs/details/...', undefined, 400, 'VALIDATION_ERROR', /not dots alone/],
  ['a job id with an encoded slash', 'POST', '/jobs/retry/a%2Fb', undefined, 400, 'VALIDATION_ERROR', /job id in the path/],
  ['a job id of encoded dots', 'POST', '/jobs/retry/%2e%2e', undefined, 404, 'ROUTE_NOT_FOUND', /No route for POST \/jobs\//],
  ['an unknown route', 'GET', '/jobs/nowhere', undefined, 404, 'ROUTE_NOT_FOUND', /No route for GET \/jobs\/nowhere/],
  ['a known path with another method', 'DELETE', '/jobs', undefined, 404, 'ROUTE_NOT_FOUND', /No route for DELETE/],
];

describe('every bad input', () => {
  it.each(BAD_INPUTS)('%s: %s %s answers a 4xx {error, code} with a sentence', async (_, method, path, body, status, code, sentence) => {
    const answer = await h.request(method, path, body);
    expect(answer.status).toBe(status);
    expect(answer.body).toEqual({ error: expect.stringMatching(sentence), code });
  });

  it('changes nothing: the counts are as before, the failed job still failed', async () => {
    const before = (await h.request('GET', '/jobs/metrics')).body;
    for (const [, method, path, body] of BAD_INPUTS) await h.request(method, path, body);
    const after = (await h.request('GET', '/jobs/metrics')).body;
    // the throughput window moves with the clock: what it holds is compared, not where its minutes start
    const completedAndFailed = (m: { throughput: { completed: number; failed: number }[] }) =>
      m.throughput.reduce((sum, minute) => ({ completed: sum.completed + minute.completed, failed: sum.failed + minute.failed }), {
        completed: 0,
        failed: 0,
      });
    expect({ ...after, queues: undefined, throughput: undefined }).toEqual({ ...before, queues: undefined, throughput: undefined });
    expect(completedAndFailed(after)).toEqual(completedAndFailed(before));
    expect(after).toMatchObject({ waiting: 0, active: 0, delayed: 0, completed: 1, failed: 1 });
    expect((await h.request('GET', `/jobs/details/${failedId}`)).body.state).toBe('failed');
  });
});
