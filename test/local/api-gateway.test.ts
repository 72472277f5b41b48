import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { RECONCILER, ROUTES, WORKER, type Route } from '../../lambda/routes';
import {
  createApiGateway,
  createRouteMatcher,
  formatRequestTime,
  parseQueryString,
  type HttpHandler,
} from '../../local/api-gateway';
import { loadHandler } from '../../local/handler-modules';

const route = (method: 'GET' | 'POST', path: string, handler: string): Route => ({
  method,
  path,
  handler,
  description: handler,
  permissions: { table: ['read'] },
});

describe('route matching', () => {
  const match = createRouteMatcher([
    route('POST', '/jobs', 'enqueue'),
    route('GET', '/jobs/details/{jobId}', 'details'),
    route('GET', '/files/{path+}', 'files'),
  ]);

  it('matches method and path, and decodes path parameters', () => {
    expect(match('POST', '/jobs')?.route.handler).toBe('enqueue');
    expect(match('GET', '/jobs/details/a%3Ab')).toMatchObject({ route: { handler: 'details' }, pathParameters: { jobId: 'a:b' } });
    expect(match('GET', '/files/a/b/c.txt')?.pathParameters).toEqual({ path: 'a/b/c.txt' });
  });

  it('matches nothing for another method, a trailing slash or an extra segment', () => {
    expect(match('GET', '/jobs')).toBeUndefined();
    expect(match('POST', '/jobs/')).toBeUndefined();
    expect(match('GET', '/jobs/details/1/2')).toBeUndefined();
    expect(match('GET', '/jobs/details/')).toBeUndefined();
  });
});

describe('query strings', () => {
  it('joins repeated keys with commas and decodes as API Gateway does', () => {
    expect(parseQueryString('limit=5&tag=a&tag=b%2Cc&q=two+words&empty&x=%E2%9C%93')).toEqual({
      limit: '5',
      tag: 'a,b,c',
      q: 'two words',
      empty: '',
      x: '✓',
    });
    expect(parseQueryString('')).toBeUndefined();
  });

  it('formats the request time as API Gateway does', () => {
    expect(formatRequestTime(Date.UTC(2020, 2, 12, 19, 3, 58))).toBe('12/Mar/2020:19:03:58 +0000');
  });
});

describe('the API Gateway emulation over HTTP', () => {
  let server: Server;
  let base: string;
  const seen: APIGatewayProxyEventV2[] = [];
  const contexts: Context[] = [];
  let answer: (event: APIGatewayProxyEventV2) => APIGatewayProxyResultV2 | Promise<APIGatewayProxyResultV2>;
  const errors: string[] = [];

  beforeAll(async () => {
    const record: HttpHandler = async (event, context) => {
      seen.push(event);
      contexts.push(context);
      return answer(event);
    };
    server = createApiGateway({
      routes: [route('POST', '/things/{thingId}', 'things'), route('GET', '/things', 'things')],
      handlers: new Map([['things', record]]),
      region: 'eu-west-1',
      logError: (message) => errors.push(message),
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    seen.length = 0;
    errors.length = 0;
    answer = () => ({ statusCode: 200, body: '' });
  });

  it('turns a request into the payload-2.0 event API Gateway sends', async () => {
    const before = Date.now();
    await fetch(`${base}/things/t%201?a=1&a=2&b=x+y`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-custom': 'v', cookie: 'c1=1; c2=2', 'user-agent': 'e2e/1' },
      body: JSON.stringify({ hello: 'world' }),
    });
    const event = seen[0]!;
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'POST /things/{thingId}',
      rawPath: '/things/t%201',
      rawQueryString: 'a=1&a=2&b=x+y',
      cookies: ['c1=1', 'c2=2'],
      queryStringParameters: { a: '1,2', b: 'x y' },
      pathParameters: { thingId: 't 1' },
      body: '{"hello":"world"}',
      isBase64Encoded: false,
      requestContext: {
        http: { method: 'POST', path: '/things/t%201', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'e2e/1' },
        routeKey: 'POST /things/{thingId}',
        stage: '$default',
        requestId: expect.any(String),
      },
    });
    expect(event.headers).toMatchObject({ 'content-type': 'application/json', 'x-custom': 'v' });
    expect(event.headers.cookie).toBeUndefined();
    expect(event.requestContext.timeEpoch).toBeGreaterThanOrEqual(before);
    expect(contexts.at(-1)!.getRemainingTimeInMillis()).toBeGreaterThan(25_000);
  });

  it('leaves out what the request does not have', async () => {
    await fetch(`${base}/things`);
    const event = seen[0]!;
    expect(event.rawQueryString).toBe('');
    expect(event).not.toHaveProperty('queryStringParameters');
    expect(event).not.toHaveProperty('pathParameters');
    expect(event).not.toHaveProperty('body');
    expect(event).not.toHaveProperty('cookies');
    expect(event.isBase64Encoded).toBe(false);
  });

  it('base64-encodes a binary body', async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    await fetch(`${base}/things/x`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: bytes });
    expect(seen[0]).toMatchObject({ body: bytes.toString('base64'), isBase64Encoded: true });
  });

  it('writes status, headers, cookies and a base64 body back', async () => {
    answer = () => ({
      statusCode: 202,
      headers: { 'Content-Type': 'image/png', 'x-count': 3 },
      cookies: ['a=1; Path=/', 'b=2'],
      body: Buffer.from([137, 80, 78, 71]).toString('base64'),
      isBase64Encoded: true,
    });
    const response = await fetch(`${base}/things`);
    expect(response.status).toBe(202);
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(response.headers.get('x-count')).toBe('3');
    expect(response.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2']);
    expect(response.headers.get('apigw-requestid')).toBe(seen[0]!.requestContext.requestId);
    expect(Buffer.from(await response.arrayBuffer())).toEqual(Buffer.from([137, 80, 78, 71]));
  });

  it('answers a result without statusCode as a JSON 200, as API Gateway infers it', async () => {
    answer = () => ({ plain: 'object' }) as unknown as APIGatewayProxyResultV2;
    const response = await fetch(`${base}/things`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({ plain: 'object' });
  });

  it('answers a handler that throws with a generic 500 and logs the details', async () => {
    answer = () => {
      throw new Error('secret database detail');
    };
    const response = await fetch(`${base}/things`);
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({ error: 'Internal server error', code: 'INTERNAL_ERROR' });
    expect(text).not.toContain('secret');
    expect(errors.join('\n')).toContain('secret database detail');
  });

  it('answers an unknown route with a 404 JSON error', async () => {
    const response = await fetch(`${base}/nowhere/else?x=1`, { method: 'DELETE' });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      error: 'No route for DELETE /nowhere/else. See the README for the routes.',
      code: 'ROUTE_NOT_FOUND',
    });
    expect(seen).toHaveLength(0);
  });
});

describe('the API key', () => {
  let server: Server;
  let base: string;
  let calls = 0;

  beforeAll(async () => {
    server = createApiGateway({
      routes: [route('GET', '/things', 'things')],
      handlers: new Map<string, HttpHandler>([['things', async () => ((calls += 1), { statusCode: 204 })]]),
      region: 'us-east-1',
      apiKey: 's3cret-key',
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it.each([
    ['no Authorization header', undefined],
    ['a wrong key', 'Bearer s3cret-kez'],
    ['the key without Bearer', 's3cret-key'],
  ])('refuses %s with a 401 and never calls the handler', async (_, authorization) => {
    const response = await fetch(`${base}/things`, { headers: authorization ? { authorization } : {} });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({
      error: 'Missing or wrong API key: send the header Authorization: Bearer <REQUEUE_API_KEY>.',
      code: 'UNAUTHORIZED',
    });
    expect(calls).toBe(0);
  });

  it('lets the right key through', async () => {
    const response = await fetch(`${base}/things`, { headers: { authorization: 'Bearer s3cret-key' } });
    expect(response.status).toBe(204);
    expect(calls).toBe(1);
  });
});

describe('handler modules', () => {
  beforeAll(() => {
    // handlers read their settings at import; nothing is called here
    Object.assign(process.env, {
      REQUEUE_TABLE_NAME: 'requeue-handler-modules',
      REQUEUE_QUEUE_URL: 'http://127.0.0.1:1/000000000000/requeue-handler-modules',
      REQUEUE_DLQ_URL: 'http://127.0.0.1:1/000000000000/requeue-handler-modules-dlq',
      REQUEUE_TASK_QUEUE_URL: 'http://127.0.0.1:1/000000000000/requeue-handler-modules-tasks',
      // the pause routes' and the metrics' own setting
      REQUEUE_WORKER_MAPPING_UUID: '00000000-0000-4000-8000-000000000000',
    });
  });

  it.each([...ROUTES.map((r) => r.handler), WORKER.handler, RECONCILER.handler])(
    'loads lambda/handlers/%s.ts and finds its handler',
    async (name) => {
      expect(typeof (await loadHandler(name))).toBe('function');
    },
  );

  it('names the file when a handler is missing', async () => {
    await expect(loadHandler('no-such-handler')).rejects.toThrow('Could not load the handler lambda/handlers/no-such-handler.ts');
  });
});
