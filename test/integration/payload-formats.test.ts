import type { Context } from 'aws-lambda';
import { DynamoDbJobStore } from '../../lambda/adapters/dynamodb-job-store';
import { routeKey, ROUTES, type Route } from '../../lambda/routes';
import { loadHandler } from '../../local/handler-modules';
import { createLambdaContext } from '../../local/lambda-context';
import {
  eventFor,
  IAM_USER_ARN,
  JWT_SUBJECT,
  readResult,
  type Authorization,
  type Format,
  type ReadResult,
  type RequestSpec,
} from '../support/api-gateway-events';
import { createJob } from '../../lambda/core/transitions';
import { storeFailedJob } from '../support/job-fixtures';
import { freshResources } from '../support/resources';

// Every route's handler, invoked as Lambda would be, with the events a REST
// API (payload 1.0) and an HTTP API (payload 2.0) send for the same request:
// each case must answer alike in both formats.

type Handler = (event: unknown, context: Context) => Promise<unknown>;

const handlers = new Map<string, Handler>();
let store: DynamoDbJobStore;
let seq = 0;

beforeAll(async () => {
  const resources = await freshResources();
  store = new DynamoDbJobStore({ tableName: resources.tableName, retentionMs: 60_000 });
  for (const route of ROUTES) handlers.set(route.handler, await loadHandler<Handler>(route.handler));
});

const routeOf = (key: string): Route => {
  const route = ROUTES.find((r) => routeKey(r) === key);
  if (!route) throw new Error(`No route ${key} in lambda/routes.ts`);
  return route;
};

const invoke = async (format: Format, route: Route, spec: RequestSpec) => {
  const context = createLambdaContext({ functionName: `requeue-${route.handler}`, timeoutMs: 30_000, region: process.env.AWS_REGION! });
  return readResult(format, await handlers.get(route.handler)!(eventFor(format, route, spec), context));
};

const JSON_TYPE = { 'Content-Type': 'application/json' };

/** A failed job of its own, with a ':' in its id, which a client percent-encodes in a path. */
const failedJob = async (): Promise<{ id: string; segment: string }> => {
  const id = `payload:${++seq}`;
  await storeFailedJob(store, { id });
  return { id, segment: encodeURIComponent(id) };
};

/** A running retry task of its own; no runner is started here, so it stays running. */
const runningTask = async (format: Format): Promise<string> => {
  const answer = await invoke(format, routeOf('POST /jobs/retry-all-failed'), {
    path: '/jobs/retry-all-failed',
    headers: JSON_TYPE,
    body: JSON.stringify({ async: true, name: 'no.such.job' }),
  });
  expect(answer.status).toBe(202);
  return answer.body.taskId;
};

interface RouteCase {
  /** A request the route takes, set up afresh for each use (a retry needs a failed job of its own), and its status. */
  readonly valid: (format: Format) => Promise<{ spec: RequestSpec; status: number; check?: (answer: ReadResult) => void }>;
  /** A request the route refuses; null for a route that reads no input. */
  readonly invalid: { spec: RequestSpec; status: number; code: string } | null;
  /** For a route that reads the query string: one that gives a key twice. */
  readonly repeatedQuery?: string;
  /** For a route that reads a JSON body. */
  readonly readsBody?: true;
}

const CASES: Record<string, RouteCase> = {
  'POST /jobs': {
    valid: async () => ({
      spec: { path: '/jobs', headers: JSON_TYPE, body: JSON.stringify({ name: 'demo.echo', data: { city: 'Zürich' } }) },
      status: 201,
      check: ({ body }) => expect(body).toEqual({ id: expect.any(String), name: 'demo.echo', state: 'waiting' }),
    }),
    invalid: {
      spec: { path: '/jobs', headers: JSON_TYPE, body: `{"name": "a", "data": ${'['.repeat(65)}${']'.repeat(65)}}` },
      status: 400,
      code: 'VALIDATION_ERROR',
    },
    readsBody: true,
  },
  'GET /jobs/failed': {
    valid: async () => {
      await failedJob();
      await failedJob();
      return {
        spec: { path: '/jobs/failed', query: 'limit=1' },
        status: 200,
        check: ({ body, headers }) => {
          expect(body).toHaveLength(1);
          expect(headers['x-next-cursor']).toEqual(expect.any(String));
        },
      };
    },
    invalid: { spec: { path: '/jobs/failed', query: 'limit=0' }, status: 400, code: 'VALIDATION_ERROR' },
    repeatedQuery: 'limit=1&limit=2',
  },
  'GET /jobs/details/{jobId}': {
    valid: async () => {
      const job = await failedJob();
      return {
        spec: { path: `/jobs/details/${job.segment}` },
        status: 200,
        check: ({ body }) => expect(body).toMatchObject({ id: job.id, state: 'failed' }),
      };
    },
    invalid: { spec: { path: '/jobs/details/nope' }, status: 404, code: 'JOB_NOT_FOUND' },
  },
  'POST /jobs/retry/{jobId}': {
    valid: async () => {
      const job = await failedJob();
      return {
        // with the data to retry it with: the route reads a body
        spec: { path: `/jobs/retry/${job.segment}`, headers: JSON_TYPE, body: JSON.stringify({ data: { city: 'Zürich' } }) },
        status: 200,
        check: ({ body }) => expect(body).toEqual({ message: `Job '${job.id}' has been queued for retry`, jobId: job.id }),
      };
    },
    invalid: { spec: { path: '/jobs/retry/nope' }, status: 404, code: 'JOB_NOT_FOUND' },
    readsBody: true,
  },
  'GET /jobs': {
    valid: async () => {
      await failedJob();
      await failedJob();
      return {
        spec: { path: '/jobs', query: 'state=failed&limit=1' },
        status: 200,
        check: ({ body, headers }) => {
          expect(body).toEqual([expect.objectContaining({ state: 'failed' })]);
          expect(headers['x-next-cursor']).toEqual(expect.any(String));
        },
      };
    },
    invalid: { spec: { path: '/jobs', query: 'state=lost' }, status: 400, code: 'VALIDATION_ERROR' },
    repeatedQuery: 'state=failed&state=waiting',
  },
  'DELETE /jobs/{jobId}': {
    valid: async () => {
      const job = await failedJob();
      return {
        spec: { path: `/jobs/${job.segment}` },
        status: 200,
        check: ({ body }) => expect(body).toEqual({ message: `Job '${job.id}' has been removed`, jobId: job.id }),
      };
    },
    invalid: { spec: { path: '/jobs/nope' }, status: 404, code: 'JOB_NOT_FOUND' },
  },
  'POST /jobs/promote/{jobId}': {
    valid: async () => {
      const id = `payload:${++seq}`;
      await store.create(createJob({ id, name: 'demo.echo', data: {}, opts: { attempts: 1, backoff: { type: 'fixed', delay: 0 }, delay: 3_600_000 } }, Date.now()));
      return {
        spec: { path: `/jobs/promote/${encodeURIComponent(id)}` },
        status: 200,
        check: ({ body }) => expect(body).toEqual({ message: `Job '${id}' has been promoted`, jobId: id }),
      };
    },
    invalid: { spec: { path: '/jobs/promote/nope' }, status: 404, code: 'JOB_NOT_FOUND' },
  },
  'POST /jobs/remove-all-failed': {
    valid: async () => ({
      spec: { path: '/jobs/remove-all-failed', query: 'name=demo.flaky', headers: JSON_TYPE, body: JSON.stringify({ dryRun: true }) },
      status: 200,
      check: ({ body }) => expect(body).toMatchObject({ dryRun: true, removedCount: 0, total: expect.any(Number) }),
    }),
    invalid: { spec: { path: '/jobs/remove-all-failed', headers: JSON_TYPE, body: '{"limit": "5"}' }, status: 400, code: 'VALIDATION_ERROR' },
    repeatedQuery: 'dryRun=true&dryRun=true',
    readsBody: true,
  },
  'GET /jobs/retry-tasks': {
    valid: async (format) => {
      const taskId = await runningTask(format);
      return {
        spec: { path: '/jobs/retry-tasks', query: 'limit=1' },
        status: 200,
        check: ({ body }) => expect(body).toEqual([expect.objectContaining({ taskId })]),
      };
    },
    invalid: { spec: { path: '/jobs/retry-tasks', query: 'limit=0' }, status: 400, code: 'VALIDATION_ERROR' },
    repeatedQuery: 'limit=1&limit=2',
  },
  'POST /jobs/retry-all-failed': {
    valid: async () => ({
      spec: { path: '/jobs/retry-all-failed', query: 'name=demo.flaky', headers: JSON_TYPE, body: JSON.stringify({ dryRun: true }) },
      status: 200,
      check: ({ body }) => expect(body).toMatchObject({ dryRun: true, retriedCount: 0, total: expect.any(Number) }),
    }),
    invalid: { spec: { path: '/jobs/retry-all-failed', headers: JSON_TYPE, body: '{"limit": "5"}' }, status: 400, code: 'VALIDATION_ERROR' },
    repeatedQuery: 'dryRun=true&dryRun=true',
    readsBody: true,
  },
  'GET /jobs/retry-tasks/{taskId}': {
    valid: async (format) => {
      const taskId = await runningTask(format);
      return {
        spec: { path: `/jobs/retry-tasks/${taskId}` },
        status: 200,
        check: ({ body }) => expect(body).toMatchObject({ taskId, status: 'RUNNING' }),
      };
    },
    invalid: { spec: { path: '/jobs/retry-tasks/nope' }, status: 404, code: 'TASK_NOT_FOUND' },
  },
  'POST /jobs/retry-tasks/{taskId}/cancel': {
    valid: async (format) => {
      const taskId = await runningTask(format);
      return {
        spec: { path: `/jobs/retry-tasks/${taskId}/cancel` },
        status: 200,
        check: ({ body }) => expect(body).toMatchObject({ taskId, status: 'CANCELLING' }),
      };
    },
    invalid: { spec: { path: '/jobs/retry-tasks/nope/cancel' }, status: 404, code: 'TASK_NOT_FOUND' },
  },
  'POST /jobs/recount': {
    valid: async () => ({
      spec: { path: '/jobs/recount' },
      status: 202,
      check: ({ body }) => expect(body).toMatchObject({ taskId: expect.any(String), status: 'RUNNING' }),
    }),
    invalid: null,
  },
  'GET /jobs/recount/{taskId}': {
    valid: async (format) => {
      const { taskId } = (await invoke(format, routeOf('POST /jobs/recount'), { path: '/jobs/recount' })).body;
      return {
        spec: { path: `/jobs/recount/${taskId}` },
        status: 200,
        check: ({ body }) => expect(body).toMatchObject({ taskId, status: 'RUNNING' }),
      };
    },
    invalid: { spec: { path: '/jobs/recount/nope' }, status: 404, code: 'RECOUNT_NOT_FOUND' },
  },
  'GET /jobs/metrics': {
    valid: async () => ({
      spec: { path: '/jobs/metrics' },
      status: 200,
      check: ({ body }) => expect(body).toMatchObject({ failed: expect.any(Number), queues: expect.any(Object), paused: expect.any(Boolean) }),
    }),
    invalid: null,
  },
  'GET /openapi.json': {
    valid: async () => ({
      spec: { path: '/openapi.json' },
      status: 200,
      check: ({ body }) => expect(body).toMatchObject({ openapi: '3.1.0', paths: expect.objectContaining({ '/openapi.json': expect.any(Object) }) }),
    }),
    invalid: null,
  },
  // each case pauses (or resumes) whatever the state the one before left: a first request switches, a second one finds it so
  'POST /jobs/pause': {
    valid: async () => ({
      spec: { path: '/jobs/pause', headers: JSON_TYPE, body: '{}' },
      status: 200,
      check: ({ body }) => expect(body).toMatchObject({ message: expect.stringMatching(/paused: jobs wait in the queue/), paused: true }),
    }),
    invalid: { spec: { path: '/jobs/pause', headers: JSON_TYPE, body: '{"for": 60}' }, status: 400, code: 'VALIDATION_ERROR' },
    readsBody: true,
  },
  'POST /jobs/resume': {
    valid: async () => ({
      spec: { path: '/jobs/resume', headers: JSON_TYPE, body: '{}' },
      status: 200,
      check: ({ body }) => expect(body).toMatchObject({ message: expect.stringMatching(/^(Worker resumed|The worker is already running)/), paused: false }),
    }),
    invalid: { spec: { path: '/jobs/resume', headers: JSON_TYPE, body: '[]' }, status: 400, code: 'VALIDATION_ERROR' },
    readsBody: true,
  },
};

const caseOf = (route: Route): RouteCase => {
  const found = CASES[routeKey(route)];
  if (!found) {
    throw new Error(`${routeKey(route)} has no case in test/integration/payload-formats.test.ts: add one to CASES`);
  }
  return found;
};

const keys = (routes: readonly Route[]) => routes.map((route) => [routeKey(route), route] as const);
const withBody = ROUTES.filter((route) => CASES[routeKey(route)]?.readsBody);
const withQuery = ROUTES.filter((route) => CASES[routeKey(route)]?.repeatedQuery);
const withInput = ROUTES.filter((route) => CASES[routeKey(route)]?.invalid !== null);

it.each(keys(ROUTES))('%s has a case in this file', (_, route) => {
  expect(() => caseOf(route)).not.toThrow();
});

describe.each<Format>(['rest (1.0)', 'http (2.0)'])('%s events', (format) => {
  it.each(
    keys(ROUTES).flatMap(([key, route]) => (['none', 'iam', 'jwt'] as Authorization[]).map((auth) => [key, auth, route] as const)),
  )('%s answers a valid request (authorizer: %s)', async (_, auth, route) => {
    const { spec, status, check } = await caseOf(route).valid(format);
    const answer = await invoke(format, route, { ...spec, auth });
    expect({ status: answer.status, body: answer.body }).toMatchObject({ status });
    expect(answer.headers['content-type']).toBe('application/json');
    check?.(answer);
  });

  it.each(keys(withInput))('%s refuses a bad request with a 4xx {error, code}', async (_, route) => {
    const { spec, status, code } = caseOf(route).invalid!;
    const answer = await invoke(format, route, spec);
    expect(answer.status).toBe(status);
    expect(answer.body).toEqual({ error: expect.any(String), code });
  });

  it.each(keys(withBody))('%s reads a base64-encoded body as its text', async (_, route) => {
    const { spec, status, check } = await caseOf(route).valid(format);
    const answer = await invoke(format, route, { ...spec, headers: { 'Content-Type': 'application/octet-stream' }, binary: true });
    expect(answer.status).toBe(status);
    check?.(answer);
  });

  it.each(keys(withBody))('%s refuses a base64-encoded body that is not UTF-8', async (_, route) => {
    const { spec } = await caseOf(route).valid(format);
    // a byte no UTF-8 text holds, inside the first string: read leniently, it would be U+FFFD in valid JSON
    const bytes = Buffer.from(String(spec.body));
    bytes[bytes.indexOf('"') + 1] = 0xff;
    const answer = await invoke(format, route, { ...spec, body: bytes, binary: true });
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ error: expect.stringMatching(/not UTF-8/), code: 'INVALID_JSON' });
  });

  it.each(keys(withQuery))('%s refuses a query key given twice', async (_, route) => {
    const { spec } = await caseOf(route).valid(format);
    const query = caseOf(route).repeatedQuery!;
    const answer = await invoke(format, route, { ...spec, query });
    expect(answer.status).toBe(400);
    const key = query.split('=')[0];
    expect(answer.body).toEqual({ error: `The query parameter ${key} is given more than once; give it once`, code: 'VALIDATION_ERROR' });
  });

  it.each([
    ['iam', IAM_USER_ARN],
    ['jwt', JWT_SUBJECT],
    ['none', 'local'],
  ] as const)('records who asked for a retry (authorizer: %s)', async (auth, by) => {
    const job = await failedJob();
    const answer = await invoke(format, routeOf('POST /jobs/retry/{jobId}'), { path: `/jobs/retry/${job.segment}`, auth });
    expect(answer.status).toBe(200);
    expect((await store.get(job.id))?.retries.at(-1)).toMatchObject({ by });
  });

  it.each([
    ['iam', IAM_USER_ARN],
    ['jwt', JWT_SUBJECT],
    ['none', 'local'],
  ] as const)('records who paused the worker, shown in the metrics (authorizer: %s)', async (auth, by) => {
    await invoke(format, routeOf('POST /jobs/resume'), { path: '/jobs/resume', auth });
    const paused = await invoke(format, routeOf('POST /jobs/pause'), { path: '/jobs/pause', auth });
    expect(paused.body).toEqual({
      message: 'Worker paused: jobs wait in the queue until it is resumed; jobs already running finish',
      paused: true,
      pausedBy: by,
      pausedAt: expect.any(Number),
    });
    const metrics = await invoke(format, routeOf('GET /jobs/metrics'), { path: '/jobs/metrics' });
    expect(metrics.body).toMatchObject({ paused: true, pausedBy: by, pausedAt: paused.body.pausedAt });
  });

  it('pages through failed jobs with the cursor of X-Next-Cursor', async () => {
    const list = routeOf('GET /jobs/failed');
    await failedJob();
    await failedJob();
    const first = await invoke(format, list, { path: '/jobs/failed', query: 'limit=1' });
    const cursor = first.headers['x-next-cursor']!;
    const second = await invoke(format, list, { path: '/jobs/failed', query: `limit=1&cursor=${encodeURIComponent(cursor)}` });
    expect(second.status).toBe(200);
    expect(second.body).toHaveLength(1);
    expect(second.body[0].id).not.toBe(first.body[0].id);
  });

  it('takes a query value holding a comma for one value, not a repeated key', async () => {
    const answer = await invoke(format, routeOf('GET /jobs/failed'), { path: '/jobs/failed', query: 'error=a%2Cb' });
    expect(answer.status).toBe(200);
  });
});

it('answers an event of neither format with a 500 a REST API would pass on', async () => {
  const route = routeOf('GET /jobs/metrics');
  const context = createLambdaContext({ functionName: 'requeue-get-metrics', timeoutMs: 30_000, region: process.env.AWS_REGION! });
  const result = await handlers.get(route.handler)!({ Records: [] }, context);
  expect(readResult('rest (1.0)', result)).toMatchObject({ status: 500, body: { error: 'Internal server error', code: 'INTERNAL_ERROR' } });
});
