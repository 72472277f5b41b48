import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Ajv2020 from 'ajv/dist/2020';
import { buildOpenApiDocument, MissingRouteDocError } from '../../lambda/openapi-document';
import { ROUTE_DOCS } from '../../lambda/route-docs';
import { routeKey, ROUTES, type Route } from '../../lambda/routes';
import { PROJECT_ROOT } from '../../infra/project-root';

const run = promisify(execFile);
const document = buildOpenApiDocument() as Record<string, any>;
const operationOf = (route: Route) => document.paths[route.path]?.[route.method.toLowerCase()];

/** The validator is an ES module, which jest's CommonJS cannot load: its own command line runs it. */
const VALIDATOR_CLI = path.join(PROJECT_ROOT, 'node_modules/@seriousme/openapi-schema-validator/bin/validate-api-cli.js');

const validate = async (doc: unknown): Promise<{ valid: boolean; errors?: unknown }> => {
  const dir = mkdtempSync(path.join(tmpdir(), 'requeue-openapi-'));
  try {
    const file = path.join(dir, 'openapi.json');
    writeFileSync(file, JSON.stringify(doc));
    const { stdout } = await run(process.execPath, [VALIDATOR_CLI, file]).catch((error: { stdout: string }) => error);
    return JSON.parse(stdout) as { valid: boolean; errors?: unknown };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

describe('the OpenAPI description', () => {
  it('passes a third-party OpenAPI 3.1 validator', async () => {
    expect(document.openapi).toBe('3.1.0');
    expect(await validate(document)).toEqual({ valid: true });
  });

  it('is refused by that validator when broken, so its verdict means something', async () => {
    const broken = { ...document, paths: { '/jobs': { get: { responses: { 200: { content: {} } } } } } };
    expect((await validate(broken)).valid).toBe(false);
  });

  it.each(ROUTES.map((route) => [routeKey(route), route] as const))('describes %s', (_, route) => {
    const operation = operationOf(route);
    expect(operation).toMatchObject({ summary: route.description, responses: expect.any(Object) });
    const statuses = Object.keys(operation.responses).map(Number);
    expect(statuses.some((status) => status >= 200 && status < 300)).toBe(true);
    expect(statuses).toEqual(expect.arrayContaining([401, 403, 500]));
    for (const [, name] of route.path.matchAll(/\{([^}]+)\}/g)) {
      expect(operation.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name, in: 'path', required: true })]));
    }
  });

  it('describes no operation that the route table lacks, and gives each its own operationId', () => {
    const operations = Object.entries(document.paths as Record<string, Record<string, { operationId: string }>>).flatMap(
      ([p, item]) => Object.entries(item).map(([method, op]) => ({ key: `${method.toUpperCase()} ${p}`, id: op.operationId })),
    );
    expect(operations.map((op) => op.key).sort()).toEqual(ROUTES.map(routeKey).sort());
    expect(new Set(operations.map((op) => op.id)).size).toBe(operations.length);
  });

  it('refuses to build when a route has no entry in lambda/route-docs.ts, or an entry no route', () => {
    const extra: Route = { method: 'POST', path: '/jobs/nowhere', handler: 'nowhere', description: 'x', permissions: { table: [] } };
    expect(() => buildOpenApiDocument([...ROUTES, extra], ROUTE_DOCS)).toThrow(
      new MissingRouteDocError('POST /jobs/nowhere has no entry in lambda/route-docs.ts: add one'),
    );
    expect(() => buildOpenApiDocument(ROUTES.slice(1), ROUTE_DOCS)).toThrow(MissingRouteDocError);
  });

  it('lists 503 on the routes that reach the table or a queue, and not on GET /openapi.json', () => {
    for (const route of ROUTES) {
      const reaches = route.permissions.table.length > 0;
      expect({ route: routeKey(route), has503: '503' in operationOf(route).responses }).toEqual({ route: routeKey(route), has503: reaches });
    }
  });

  it("describes the listings' X-Next-Cursor header and their limit and cursor parameters", () => {
    for (const key of ['GET /jobs', 'GET /jobs/failed', 'GET /jobs/retry-tasks']) {
      const operation = operationOf(ROUTES.find((route) => routeKey(route) === key)!);
      expect(operation.responses['200'].headers['X-Next-Cursor']).toMatchObject({ schema: { type: 'string' } });
      expect(operation.parameters).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ name: 'limit', in: 'query', schema: expect.objectContaining({ type: 'integer', minimum: 1, maximum: 1000 }) }),
          expect.objectContaining({ name: 'cursor', in: 'query' }),
        ]),
      );
    }
  });

  it('takes since and until as epoch ms or an ISO 8601 date-time with a zone, as the handlers do', () => {
    const ajv = new Ajv2020({ strict: true, validateFormats: false });
    const since = operationOf(ROUTES.find((route) => routeKey(route) === 'GET /jobs/failed')!).parameters.find(
      (p: { name: string }) => p.name === 'since',
    );
    const check = ajv.compile(since.schema);
    expect([1764400000000, '2026-12-02T04:40:00Z', '2026-12-02T06:40:00.250+02:00'].map((v) => check(v))).toEqual([true, true, true]);
    expect(['2026-12-02', '2026-12-02T04:40:00', -1].map((v) => check(v))).toEqual([false, false, false]);
  });

  it("describes the enqueue body with the handler's own schema: it takes and refuses what the handler does", () => {
    const body = operationOf(ROUTES.find((route) => routeKey(route) === 'POST /jobs')!).requestBody;
    expect(body.required).toBe(true);
    const check = new Ajv2020({ strict: true }).compile(body.content['application/json'].schema);
    expect(check({ name: 'email.send', data: { to: 'a@example.com' }, opts: { attempts: 5, backoff: { type: 'exponential', delay: 100 } } })).toBe(true);
    expect(check({ name: 'has spaces' })).toBe(false);
    expect(check({ name: 'a', opts: { attempts: 101 } })).toBe(false);
    expect(check({ name: 'a', extra: 1 })).toBe(false);
  });

  it('names the security schemes of each place it runs', () => {
    expect(Object.keys(document.components.securitySchemes).sort()).toEqual(['jwt', 'localApiKey', 'sigv4']);
    expect(document.components.securitySchemes.sigv4['x-amazon-apigateway-authtype']).toBe('awsSigv4');
  });
});
