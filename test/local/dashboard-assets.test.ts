import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { dashboardAsset } from '../../dashboard/assets';
import { createApiGateway, type HttpHandler } from '../../local/api-gateway';

describe('dashboardAsset', () => {
  it('serves the page, one script and one style sheet', async () => {
    const page = await dashboardAsset('/dashboard');
    expect(page?.contentType).toBe('text/html; charset=utf-8');
    expect(page?.body.toString()).toContain('<script defer src="/dashboard/app.js"></script>');
    expect((await dashboardAsset('/dashboard/'))?.body).toEqual(page?.body);

    const script = await dashboardAsset('/dashboard/app.js');
    expect(script?.contentType).toBe('text/javascript; charset=utf-8');
    expect(script?.body.toString()).toContain('/jobs/metrics');
    const styles = await dashboardAsset('/dashboard/app.css');
    expect(styles?.contentType).toBe('text/css; charset=utf-8');
    expect(styles?.body.toString()).toContain(':focus-visible');
  });

  it.each(['/', '/jobs', '/jobs/metrics', '/dashboards', '/dashboard/nope.js', '/dashboard/app.js.map'])(
    'leaves %s to the API',
    async (path) => {
      expect(await dashboardAsset(path)).toBeUndefined();
    },
  );
});

describe('the dashboard on the API Gateway emulation with an API key', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    server = createApiGateway({
      routes: [{ method: 'GET', path: '/jobs', handler: 'jobs', description: 'jobs', permissions: { table: ['read'] } }],
      handlers: new Map<string, HttpHandler>([['jobs', async () => ({ statusCode: 200, body: '[]' })]]),
      region: 'us-east-1',
      apiKey: 'dashboard-key',
      staticFiles: dashboardAsset,
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('serves the page without the key, as it holds no data, and with a policy that keeps it to this API', async () => {
    const response = await fetch(`${base}/dashboard?from=bookmark`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await response.text()).toContain('<title>requeue dashboard</title>');
  });

  it('still asks the key of every API call, and of anything else under /dashboard', async () => {
    expect((await fetch(`${base}/jobs`)).status).toBe(401);
    expect((await fetch(`${base}/dashboard`, { method: 'POST' })).status).toBe(401);
    expect((await fetch(`${base}/dashboard/secret`)).status).toBe(401);
    expect((await fetch(`${base}/jobs`, { headers: { authorization: 'Bearer dashboard-key' } })).status).toBe(200);
  });
});
