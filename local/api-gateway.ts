import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyResultV2,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import { routeKey, type Route } from '../lambda/routes';
import { invokeWithTimeout, LOCAL_ACCOUNT_ID } from './lambda-context';

/**
 * An emulation of an API Gateway HTTP API with Lambda proxy integrations
 * (payload format 2.0): each request becomes the event API Gateway would send,
 * and the handler's result becomes the response API Gateway would write.
 */

export type HttpHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyResultV2> | APIGatewayProxyResultV2;

export interface ApiGatewayOptions {
  readonly routes: readonly Route[];
  /** By the route's handler name. */
  readonly handlers: ReadonlyMap<string, HttpHandler>;
  readonly region: string;
  /** Each function's timeout. @default 30 000 (API Gateway's own integration limit) */
  readonly timeoutMs?: number;
  /** Where a failing handler's details go; clients only see a generic 500. @default stderr */
  readonly logError?: (message: string) => void;
  /**
   * When set, every request must carry `Authorization: Bearer <apiKey>`: the
   * local stand-in for the authorizer every route has on AWS.
   * @default unset: no authorization
   */
  readonly apiKey?: string;
  /**
   * Static files served beside the API (the dashboard), by path; undefined
   * for a path that is not one. They hold no data, so they need no key: the
   * page asks the operator for it and sends it with its API calls.
   * @default none
   */
  readonly staticFiles?: (urlPath: string) => Promise<{ contentType: string; body: Buffer } | undefined>;
}

/** API Gateway refuses larger request bodies. */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;

/** An HTTP API's limit on the request line and header values together (node's own default is 16 KiB). */
export const MAX_REQUEST_HEAD_BYTES = 10_240;

export interface RouteMatch {
  readonly route: Route;
  readonly pathParameters?: Record<string, string>;
}

interface CompiledRoute {
  readonly route: Route;
  readonly pattern: RegExp;
  readonly names: readonly string[];
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const compile = (route: Route): CompiledRoute => {
  const names: string[] = [];
  const source = route.path
    .split(/(\{[^}]+\})/)
    .map((part) => {
      const param = /^\{([^}+]+)(\+?)\}$/.exec(part);
      if (!param) return escapeRegExp(part);
      names.push(param[1]!);
      // `{name+}` is API Gateway's greedy parameter: it spans slashes
      return param[2] ? '(.+)' : '([^/]+)';
    })
    .join('');
  return { route, pattern: new RegExp(`^${source}$`), names };
};

const decodeComponent = (text: string): string => {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
};

/** Find the route for a request; `path` is the raw path, still percent-encoded. */
export const createRouteMatcher = (routes: readonly Route[]) => {
  const compiled = routes.map(compile);
  return (method: string, path: string): RouteMatch | undefined => {
    for (const { route, pattern, names } of compiled) {
      if (route.method !== method) continue;
      const match = pattern.exec(path);
      if (!match) continue;
      if (names.length === 0) return { route };
      const pathParameters = Object.fromEntries(names.map((name, i) => [name, decodeComponent(match[i + 1]!)]));
      return { route, pathParameters };
    }
    return undefined;
  };
};

const DOT = /^(?:\.|%2e)$/i;
const DOT_DOT = /^(?:\.|%2e){2}$/i;

/**
 * Resolve `.` and `..` segments, spelt or percent-encoded, as the URL
 * standard does (RFC 3986 §5.2.4; WHATWG reads `%2e` as a dot too). Every
 * client that parses URLs (browsers, fetch, the SDKs, curl without
 * --path-as-is) sends paths so resolved, so API Gateway routes them so:
 * `/jobs/details/..` is `/jobs/`, never a job named `..`. An encoded slash
 * (`%2F`) is not a separator: it stays inside its segment.
 */
export const resolveDotSegments = (path: string): string => {
  const segments = path.split('/');
  const out: string[] = [];
  segments.forEach((segment, i) => {
    const last = i === segments.length - 1;
    if (DOT.test(segment) || DOT_DOT.test(segment)) {
      // the leading '' is the root: `..` never climbs above it
      if (DOT_DOT.test(segment) && out.length > 1) out.pop();
      if (last) out.push('');
      return;
    }
    out.push(segment);
  });
  return out.join('/');
};

/** `a=1&a=2&b` → `{a: '1,2', b: ''}`, decoded as API Gateway does (`+` is a space). */
export const parseQueryString = (raw: string): Record<string, string> | undefined => {
  if (raw === '') return undefined;
  const values = new Map<string, string[]>();
  for (const pair of raw.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = decodeComponent((eq === -1 ? pair : pair.slice(0, eq)).replaceAll('+', ' '));
    const value = eq === -1 ? '' : decodeComponent(pair.slice(eq + 1).replaceAll('+', ' '));
    values.set(key, [...(values.get(key) ?? []), value]);
  }
  if (values.size === 0) return undefined;
  return Object.fromEntries([...values].map(([key, list]) => [key, list.join(',')]));
};

const TEXT_TYPES = [
  /^text\//,
  /^application\/(.+\+)?json$/,
  /^application\/(.+\+)?xml$/,
  /^application\/javascript$/,
  /^application\/x-www-form-urlencoded$/,
];

/** HTTP APIs pass text bodies as they are and base64-encode anything else, an unlabelled body included. */
export const isTextContentType = (contentType: string | undefined): boolean => {
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
  return mediaType !== undefined && TEXT_TYPES.some((type) => type.test(mediaType));
};

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number): string => String(n).padStart(2, '0');

/** API Gateway's `requestContext.time`: `12/Mar/2020:19:03:58 +0000`. */
export const formatRequestTime = (epochMs: number): string => {
  const d = new Date(epochMs);
  return (
    `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`
  );
};

/** API Gateway's request ids look like `JKJaXmPLvHcESHA=`. */
const newRequestId = (): string => randomBytes(10).toString('base64');

export interface RawRequest {
  readonly method: string;
  /** As sent: path and query string, percent-encoded. */
  readonly url: string;
  readonly headers: IncomingMessage['headersDistinct'];
  readonly body: Buffer;
  readonly sourceIp: string;
  readonly protocol: string;
}

/** The payload-2.0 event API Gateway sends for one request to one route. */
export const toEvent = (
  request: RawRequest,
  match: RouteMatch,
  requestId: string,
  timeEpoch: number,
): APIGatewayProxyEventV2 => {
  const queryStart = request.url.indexOf('?');
  const rawPath = queryStart === -1 ? request.url : request.url.slice(0, queryStart);
  const rawQueryString = queryStart === -1 ? '' : request.url.slice(queryStart + 1);

  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (const [name, values] of Object.entries(request.headers)) {
    if (!values) continue;
    // cookies travel apart, one entry per cookie
    if (name === 'cookie') {
      cookies = values.flatMap((value) => value.split(';').map((c) => c.trim())).filter((c) => c !== '');
      continue;
    }
    headers[name] = values.join(',');
  }
  headers['x-forwarded-for'] ??= request.sourceIp;
  headers['x-forwarded-proto'] ??= 'http';

  const host = headers.host ?? 'localhost';
  const hasBody = request.body.length > 0;
  const text = isTextContentType(headers['content-type']);
  const key = routeKey(match.route);
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: key,
    rawPath,
    rawQueryString,
    ...(cookies && cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(rawQueryString ? { queryStringParameters: parseQueryString(rawQueryString) } : {}),
    requestContext: {
      accountId: LOCAL_ACCOUNT_ID,
      apiId: 'local',
      domainName: host,
      domainPrefix: host.split('.')[0]!.split(':')[0]!,
      http: {
        method: request.method,
        path: rawPath,
        protocol: request.protocol,
        sourceIp: request.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId,
      routeKey: key,
      stage: '$default',
      time: formatRequestTime(timeEpoch),
      timeEpoch,
    },
    ...(match.pathParameters ? { pathParameters: match.pathParameters } : {}),
    ...(hasBody ? { body: text ? request.body.toString('utf8') : request.body.toString('base64') } : {}),
    isBase64Encoded: hasBody && !text,
  };
  return event;
};

export class MalformedResponseError extends Error {
  override readonly name = 'MalformedResponseError';
}

export interface HttpResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string | string[]>;
  readonly body: Buffer;
}

const isStructured = (result: unknown): result is APIGatewayProxyStructuredResultV2 =>
  typeof result === 'object' && result !== null && 'statusCode' in result;

/**
 * How API Gateway reads a payload-2.0 result: a structured result as given,
 * and anything else as a JSON body with status 200.
 */
export const toHttpResponse = (result: APIGatewayProxyResultV2 | undefined): HttpResponse => {
  if (!isStructured(result)) {
    const body = typeof result === 'string' ? result : JSON.stringify(result ?? null);
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(body) };
  }
  const { statusCode } = result;
  if (statusCode === undefined || !Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) {
    throw new MalformedResponseError(`The handler answered with an invalid statusCode: ${String(statusCode)}`);
  }
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) {
    headers[name.toLowerCase()] = String(value);
  }
  if (result.cookies && result.cookies.length > 0) {
    const existing = headers['set-cookie'];
    headers['set-cookie'] = [...(existing === undefined ? [] : [existing].flat()), ...result.cookies];
  }
  const raw = result.body ?? '';
  const body = result.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  return { statusCode, headers, body };
};

const errorResponse = (statusCode: number, error: string, code: string): HttpResponse => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: Buffer.from(JSON.stringify({ error, code })),
});

/** A request body past MAX_BODY_BYTES, refused with 413 as API Gateway refuses it. */
export class PayloadTooLargeError extends Error {}

/** The whole body of `req`; rejects with PayloadTooLargeError once it passes MAX_BODY_BYTES, reading no more of it. */
export const readBody = (req: IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new PayloadTooLargeError());
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });

const write = (res: ServerResponse, requestId: string, response: HttpResponse): void => {
  res.writeHead(response.statusCode, {
    ...response.headers,
    'content-length': String(response.body.length),
    'apigw-requestid': requestId,
  });
  res.end(response.body);
};

const sourceIpOf = (req: IncomingMessage): string => (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');

const formatError = (error: unknown): string => {
  const lines: string[] = [];
  let current: unknown = error;
  while (current !== undefined) {
    lines.push(current instanceof Error ? (current.stack ?? String(current)) : String(current));
    current = current instanceof Error ? current.cause : undefined;
    if (current !== undefined) lines.push('Caused by:');
  }
  return lines.join('\n');
};

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** Compares in constant time, so the answer's timing tells nothing about the key. */
const bearerMatches = (header: string | undefined, apiKey: string): boolean => {
  const match = /^Bearer (.+)$/i.exec(header?.trim() ?? '');
  return match !== null && timingSafeEqual(digest(match[1]!), digest(apiKey));
};

/**
 * What to answer a request node's parser gave up on, before any handler saw
 * it: its head too large (the request line alone: 414, else 431), a timeout,
 * or anything else malformed (400).
 */
export const clientErrorResponse = (error: NodeJS.ErrnoException & { rawPacket?: Buffer }): HttpResponse & { reason: string } => {
  const answer = (statusCode: number, reason: string, message: string, code: string) => ({
    ...errorResponse(statusCode, message, code),
    reason,
  });
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    const lineEnd = error.rawPacket?.indexOf('\r\n') ?? -1;
    return lineEnd === -1 || lineEnd >= MAX_REQUEST_HEAD_BYTES
      ? answer(414, 'URI Too Long', `The request URL is longer than ${MAX_REQUEST_HEAD_BYTES} bytes, API Gateway's limit.`, 'URI_TOO_LONG')
      : answer(
          431,
          'Request Header Fields Too Large',
          `The request line and headers are larger than ${MAX_REQUEST_HEAD_BYTES} bytes together, API Gateway's limit.`,
          'HEADERS_TOO_LARGE',
        );
  }
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT' || error.code === 'ERR_HTTP_HEADERS_TIMEOUT') {
    return answer(408, 'Request Timeout', 'The request did not arrive in time; send it again.', 'REQUEST_TIMEOUT');
  }
  return answer(400, 'Bad Request', 'The request is not well-formed HTTP/1.1 and could not be read.', 'BAD_REQUEST');
};

/** The dashboard loads nothing but its own files and calls nothing but this API. */
const STATIC_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

/** The HTTP server; the caller listens on it and closes it. */
export const createApiGateway = (options: ApiGatewayOptions): Server => {
  const matchRoute = createRouteMatcher(options.routes);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const logError = options.logError ?? ((message: string) => process.stderr.write(`${message}\n`));

  const respond = async (req: IncomingMessage, requestId: string, timeEpoch: number): Promise<HttpResponse> => {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    if ((method === 'GET' || method === 'HEAD') && options.staticFiles) {
      const queryAt = url.indexOf('?');
      const file = await options.staticFiles(resolveDotSegments(queryAt === -1 ? url : url.slice(0, queryAt)));
      if (file) {
        req.resume();
        return { statusCode: 200, headers: { ...STATIC_HEADERS, 'content-type': file.contentType }, body: file.body };
      }
    }
    if (options.apiKey !== undefined && !bearerMatches(req.headers.authorization, options.apiKey)) {
      req.resume();
      return errorResponse(
        401,
        'Missing or wrong API key: send the header Authorization: Bearer <REQUEUE_API_KEY>.',
        'UNAUTHORIZED',
      );
    }
    const queryStart = url.indexOf('?');
    const path = resolveDotSegments(queryStart === -1 ? url : url.slice(0, queryStart));
    const match = matchRoute(method, path);
    if (!match) {
      req.resume();
      return errorResponse(
        404,
        `No route for ${method} ${path}. See the README for the routes.`,
        'ROUTE_NOT_FOUND',
      );
    }
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch (error) {
      if (error instanceof PayloadTooLargeError) {
        return errorResponse(
          413,
          `The request body is larger than ${MAX_BODY_BYTES / 1024 / 1024} MB, API Gateway's limit.`,
          'PAYLOAD_TOO_LARGE',
        );
      }
      throw error;
    }
    const handler = options.handlers.get(match.route.handler);
    if (!handler) throw new Error(`No handler loaded for ${routeKey(match.route)} (${match.route.handler})`);
    const event = toEvent(
      { method, url: queryStart === -1 ? path : path + url.slice(queryStart), headers: req.headersDistinct, body, sourceIp: sourceIpOf(req), protocol: `HTTP/${req.httpVersion}` },
      match,
      requestId,
      timeEpoch,
    );
    const fn = { functionName: `requeue-${match.route.handler}`, timeoutMs, region: options.region };
    try {
      return toHttpResponse(await invokeWithTimeout(fn, (context) => handler(event, context)));
    } catch (error) {
      throw new Error(`${routeKey(match.route)} (${match.route.handler}) failed`, { cause: error });
    }
  };

  const server = createServer({ maxHeaderSize: MAX_REQUEST_HEAD_BYTES }, (req, res) => {
    const requestId = newRequestId();
    respond(req, requestId, Date.now())
      .catch((error: unknown) => {
        logError(formatError(error));
        return errorResponse(500, 'Internal server error', 'INTERNAL_ERROR');
      })
      .then((response) => write(res, requestId, response))
      .catch((error: unknown) => logError(formatError(error)));
  });
  // node's default answer to what it cannot parse is a bare 400 with no body: answer JSON, as everywhere else
  server.on('clientError', (error: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const response = clientErrorResponse(error);
    const head =
      `HTTP/1.1 ${response.statusCode} ${response.reason}\r\n` +
      `content-type: application/json\r\ncontent-length: ${response.body.length}\r\n` +
      `apigw-requestid: ${newRequestId()}\r\nconnection: close\r\n\r\n`;
    socket.end(Buffer.concat([Buffer.from(head), response.body]));
  });
  return server;
};
