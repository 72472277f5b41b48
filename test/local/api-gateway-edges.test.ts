import { connect, type AddressInfo } from 'node:net';
import { request as httpRequest, type Server } from 'node:http';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { Route } from '../../lambda/routes';
import { createApiGateway, MAX_REQUEST_HEAD_BYTES, resolveDotSegments, type HttpHandler } from '../../local/api-gateway';

const route = (method: 'GET' | 'POST', path: string, handler: string): Route => ({
  method,
  path,
  handler,
  description: handler,
  permissions: { table: ['read'] },
});

describe('dot segments', () => {
  it.each([
    ['/jobs/details/..', '/jobs/'],
    ['/jobs/details/.', '/jobs/details/'],
    ['/jobs/details/%2e%2E', '/jobs/'],
    ['/jobs/details/.%2e', '/jobs/'],
    ['/jobs/details/x/../y', '/jobs/details/y'],
    ['/jobs/./details/./a', '/jobs/details/a'],
    ['/../../jobs', '/jobs'],
    ['/jobs/details/a%2Fb', '/jobs/details/a%2Fb'],
    ['/jobs/details/...', '/jobs/details/...'],
  ])('resolves %s to %s, as a URL parser does', (path, resolved) => {
    expect(resolveDotSegments(path)).toBe(resolved);
  });
});

describe('requests the server itself cannot take', () => {
  let server: Server;
  let port: number;
  const seen: APIGatewayProxyEventV2[] = [];
  const details: HttpHandler = async (event) => {
    seen.push(event);
    return { statusCode: 200, body: JSON.stringify(event.pathParameters) };
  };

  beforeAll(async () => {
    server = createApiGateway({
      routes: [route('GET', '/jobs/details/{jobId}', 'details'), route('POST', '/jobs', 'details')],
      handlers: new Map([['details', details]]),
      region: 'us-east-1',
      logError: () => undefined,
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  /** The path goes out as written: no URL parser resolves it first. */
  const getRaw = (path: string) =>
    new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
      });
      req.on('error', reject);
      req.end();
    });

  /** Bytes as they are, and the raw answer until the server closes. */
  const sendBytes = (bytes: string) =>
    new Promise<{ status: number; contentType: string; body: any }>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.end(bytes));
      let text = '';
      socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      socket.on('error', reject);
      socket.on('close', () => {
        const [head, body] = text.split('\r\n\r\n');
        resolve({
          status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head!)![1]),
          contentType: /content-type: (.+)/i.exec(head!)?.[1]?.trim() ?? '',
          body: JSON.parse(body!),
        });
      });
    });

  it('routes a path with dot segments as resolved, so `..` never reaches a handler as a job id', async () => {
    expect(await getRaw('/jobs/details/..')).toMatchObject({ status: 404, body: { code: 'ROUTE_NOT_FOUND' } });
    expect(await getRaw('/jobs/details/%2E%2e')).toMatchObject({ status: 404, body: { code: 'ROUTE_NOT_FOUND' } });
    expect(await getRaw('/jobs/details/x/../y')).toEqual({ status: 200, body: { jobId: 'y' } });
    expect(seen.at(-1)).toMatchObject({ rawPath: '/jobs/details/y', requestContext: { http: { path: '/jobs/details/y' } } });
  });

  it('keeps an encoded slash inside its path parameter, decoded', async () => {
    expect(await getRaw('/jobs/details/a%2Fb')).toEqual({ status: 200, body: { jobId: 'a/b' } });
  });

  it('answers a URL over the limit with a 414 JSON error', async () => {
    const answer = await sendBytes(`GET /jobs/details/${'x'.repeat(MAX_REQUEST_HEAD_BYTES)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(answer).toEqual({ status: 414, contentType: 'application/json', body: { error: expect.stringMatching(/URL is longer than 10240 bytes/), code: 'URI_TOO_LONG' } });
  });

  it('answers headers over the limit with a 431 JSON error', async () => {
    const answer = await sendBytes(`GET /jobs/details/a HTTP/1.1\r\nHost: x\r\nX-Big: ${'y'.repeat(MAX_REQUEST_HEAD_BYTES)}\r\n\r\n`);
    expect(answer).toEqual({ status: 431, contentType: 'application/json', body: { error: expect.stringMatching(/headers are larger/), code: 'HEADERS_TOO_LARGE' } });
  });

  it.each([
    ['a request line that is not HTTP', 'HELLO THERE\r\n\r\n'],
    ['a header with no colon', 'GET /jobs/details/a HTTP/1.1\r\nHost x\r\n\r\n'],
    ['a chunked body with a bad chunk size', 'POST /jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n'],
    ['two content lengths', 'POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab'],
  ])('answers %s with a 400 JSON error', async (_, bytes) => {
    const answer = await sendBytes(bytes);
    expect(answer).toEqual({ status: 400, contentType: 'application/json', body: { error: expect.any(String), code: 'BAD_REQUEST' } });
  });
});
