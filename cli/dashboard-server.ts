import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dashboardAsset } from '../dashboard/assets';
import { ROUTES } from '../lambda/routes';
import {
  createRouteMatcher,
  MAX_BODY_BYTES,
  parseQueryString,
  PayloadTooLargeError,
  readBody,
  resolveDotSegments,
} from '../local/api-gateway';
import { UnreachableError, type ApiClient } from './api-client';
import { CredentialsError } from './aws-signing';

/**
 * `requeue dashboard`: the dashboard's files, and its API calls forwarded to
 * the API the client names, authorized there (SigV4, a token). The browser
 * talks to this server alone, on loopback: it never holds a credential, and
 * the server forwards nothing but the API's own routes.
 */

/** The routes of the route table, and the description of them. */
const isApiRoute = (() => {
  const match = createRouteMatcher(ROUTES);
  return (method: string, path: string) => match(method, path) !== undefined || (method === 'GET' && path === '/openapi.json');
})();

const sendJson = (res: ServerResponse, status: number, body: unknown): void => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
};

/** What `a=1&a=2&b` means to the API: each key with every value it was given. */
const queryOf = (raw: string): Record<string, string[]> => {
  const query: Record<string, string[]> = {};
  for (const pair of raw.split('&')) {
    if (pair === '') continue;
    const single = parseQueryString(pair) ?? {};
    for (const [key, value] of Object.entries(single)) query[key] = [...(query[key] ?? []), value];
  }
  return query;
};

export interface DashboardServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  stop(): Promise<void>;
}

export const serveDashboard = async ({ client, port }: { client: ApiClient; port: number }): Promise<DashboardServer> => {
  let origins: readonly string[] = [];

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    // a page of another site resolving its own name to 127.0.0.1 (DNS rebinding) names that site as the host
    const host = req.headers.host ?? '';
    if (!origins.includes(`http://${host}`)) {
      req.resume();
      return sendJson(res, 421, { error: `This server answers only as ${origins[0]}, not as '${host}'`, code: 'WRONG_HOST' });
    }
    // a page of another site may make the browser send requests here; they carry its origin, or a cross-site mark
    const origin = req.headers.origin;
    if ((origin !== undefined && !origins.includes(origin)) || req.headers['sec-fetch-site'] === 'cross-site') {
      req.resume();
      return sendJson(res, 403, { error: 'Requests from other sites are not forwarded to the API', code: 'FORBIDDEN_ORIGIN' });
    }
    const url = req.url ?? '/';
    const queryStart = url.indexOf('?');
    const path = resolveDotSegments(queryStart === -1 ? url : url.slice(0, queryStart));
    const rawQuery = queryStart === -1 ? '' : url.slice(queryStart + 1);

    if (method === 'GET' && path === '/') {
      req.resume();
      res.writeHead(302, { location: '/dashboard' });
      res.end();
      return;
    }
    if ((method === 'GET' || method === 'HEAD') && (path === '/dashboard' || path.startsWith('/dashboard/'))) {
      req.resume();
      const asset = await dashboardAsset(path);
      if (!asset) return sendJson(res, 404, { error: `The dashboard has no file ${path}`, code: 'NOT_FOUND' });
      res.writeHead(200, { 'content-type': asset.contentType, 'content-length': asset.body.length, 'cache-control': 'no-cache' });
      res.end(method === 'HEAD' ? undefined : asset.body);
      return;
    }
    if (!isApiRoute(method, path)) {
      req.resume();
      return sendJson(res, 404, {
        error: `No route for ${method} ${path}: requeue dashboard serves /dashboard and forwards only the API's routes`,
        code: 'ROUTE_NOT_FOUND',
      });
    }
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch (error) {
      if (error instanceof PayloadTooLargeError) {
        return sendJson(res, 413, { error: `The request body is larger than ${MAX_BODY_BYTES / 1024 / 1024} MB`, code: 'PAYLOAD_TOO_LARGE' });
      }
      throw error;
    }
    try {
      const contentType = req.headers['content-type'];
      const answer = await client.call(method, path, {
        query: queryOf(rawQuery),
        acceptErrors: true,
        ...(body.length > 0 ? { rawBody: { text: body.toString('utf8'), ...(contentType ? { contentType } : {}) } } : {}),
      });
      const headers: Record<string, string> = {};
      for (const name of ['content-type', 'x-next-cursor']) {
        const value = answer.headers[name];
        if (typeof value === 'string') headers[name] = value;
      }
      res.writeHead(answer.status, { ...headers, 'content-length': Buffer.byteLength(answer.text) });
      res.end(answer.text);
    } catch (error) {
      if (error instanceof UnreachableError) return sendJson(res, 502, { error: error.message, code: 'API_UNREACHABLE' });
      if (error instanceof CredentialsError) return sendJson(res, 502, { error: error.message, code: 'NO_CREDENTIALS' });
      throw error;
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      process.stderr.write(`requeue dashboard: ${(error as Error).stack ?? String(error)}\n`);
      if (!res.headersSent) sendJson(res, 500, { error: 'Internal error of requeue dashboard', code: 'INTERNAL_ERROR' });
      else res.destroy();
    });
  });
  const bound = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
  origins = [`http://127.0.0.1:${bound}`, `http://localhost:${bound}`];
  return {
    url: origins[0]!,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
};
