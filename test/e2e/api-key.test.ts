import { buildOpenApiDocument } from '../../lambda/openapi-document';
import { eventually } from '../support/requeue-harness';
import { removeDataDir, startLocalRuntime, STARTUP_BUDGET_MS, type LocalRuntime } from '../support/local-runtime';

// REQUEUE_API_KEY: the local stand-in for the authorizer every route has on AWS.

let runtime: LocalRuntime;

beforeAll(async () => {
  runtime = await startLocalRuntime({ env: { REQUEUE_API_KEY: 'local-e2e-key' } });
}, STARTUP_BUDGET_MS + 5_000);

afterAll(async () => {
  await runtime?.kill();
  if (runtime) removeDataDir(runtime.dataDir);
});

it('answers 401 without the key and serves the request with it', async () => {
  const refused = await runtime.request('POST', '/jobs', { name: 'demo.echo' });
  expect(refused.status).toBe(401);
  expect(refused.body).toEqual({
    error: 'Missing or wrong API key: send the header Authorization: Bearer <REQUEUE_API_KEY>.',
    code: 'UNAUTHORIZED',
  });

  const accepted = await fetch(`${runtime.url}/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer local-e2e-key' },
    body: JSON.stringify({ name: 'demo.echo' }),
  });
  expect(accepted.status).toBe(201);

  const metrics = () => fetch(`${runtime.url}/jobs/metrics`, { headers: { authorization: 'Bearer local-e2e-key' } });
  expect((await metrics()).status).toBe(200);
  // the counts follow the table's stream a moment behind
  await eventually(async () => ((await (await metrics()).json()) as { total: number }).total === 1, 10_000, 'the job counted');
});

it('keeps the OpenAPI description behind the key too, and serves the one lambda/openapi-document.ts builds', async () => {
  const refused = await runtime.request('GET', '/openapi.json');
  expect(refused.status).toBe(401);

  const served = await fetch(`${runtime.url}/openapi.json`, { headers: { authorization: 'Bearer local-e2e-key' } });
  expect(served.status).toBe(200);
  expect(served.headers.get('content-type')).toBe('application/json');
  expect(await served.json()).toEqual(buildOpenApiDocument());
});
