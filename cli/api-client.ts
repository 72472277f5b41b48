import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { executeApiRegionOf, sigV4Signer, type RequestSigner } from './aws-signing';

/**
 * One requeue API, as the CLI and the dashboard's proxy call it: the base
 * URL, how requests are authorized, and where they are sent.
 */

export type Authorization =
  | { readonly kind: 'none' }
  /** The local runtime's REQUEUE_API_KEY, or a JWT for an API deployed with an authorizer of tokens. */
  | { readonly kind: 'bearer'; readonly token: string }
  | { readonly kind: 'sigv4'; readonly region: string; readonly sign: RequestSigner };

export interface ApiTarget {
  /** The API's base URL; a path in it (a REST API's stage, `/prod`) prefixes every route. */
  readonly url: URL;
  readonly authorization: Authorization;
  /**
   * Where the connection goes instead of the URL's host; the Host header and
   * the signature still name the URL's host (as curl's --connect-to): a
   * private API reached through its VPC endpoint's DNS name, or a test's
   * SigV4 verifier on this machine.
   */
  readonly connectTo?: URL;
}

export interface TargetOptions {
  readonly url: string;
  readonly apiKey?: string;
  readonly token?: string;
  readonly region?: string;
  readonly connectTo?: string;
}

/** The command line said something that cannot be sent: exit code 2, as for any usage error. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The API answered with an error: its sentence and machine code, as it gave them. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
    readonly code: string | undefined,
    /** The answer's body, parsed when it is JSON. */
    readonly body: unknown,
  ) {
    super(message);
  }
}

/** No answer at all: the address is wrong, nothing listens there, or the network is down. */
export class UnreachableError extends Error {
  override readonly name = 'UnreachableError';
}

const parseUrl = (text: string, option: string): URL => {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`${option} must be a URL such as http://localhost:3000 or https://<api id>.execute-api.<region>.amazonaws.com, got '${text}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`${option} must be an http or https URL, got '${text}'`);
  if (url.search || url.hash) throw new UsageError(`${option} must be the API's base URL, without a query or fragment: '${text}'`);
  return url;
};

/**
 * How to authorize: a token or API key when given (both are sent as
 * `Authorization: Bearer`); else SigV4 for an execute-api URL (its region
 * from the host) or when a region is named (a custom domain name); else
 * nothing (the local runtime without REQUEUE_API_KEY).
 */
export const resolveTarget = (options: TargetOptions): ApiTarget => {
  const url = parseUrl(options.url, '--url');
  const connectTo = options.connectTo === undefined ? undefined : parseUrl(options.connectTo, '--connect-to');
  if (options.apiKey !== undefined && options.token !== undefined) {
    throw new UsageError('Give --api-key or --token, not both: each is sent as Authorization: Bearer');
  }
  const bearer = options.token ?? options.apiKey;
  if (bearer !== undefined) {
    if (bearer === '') throw new UsageError('--api-key and --token cannot be empty');
    return { url, connectTo, authorization: { kind: 'bearer', token: bearer } };
  }
  const region = options.region ?? executeApiRegionOf(url.hostname);
  if (region !== undefined) return { url, connectTo, authorization: { kind: 'sigv4', region, sign: sigV4Signer(region) } };
  return { url, connectTo, authorization: { kind: 'none' } };
};

export interface ApiAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** Parsed JSON; the raw text when the body is not JSON. */
  readonly body: unknown;
  readonly text: string;
}

/** RFC 3986's unreserved characters stay, everything else is percent-encoded: how SigV4 encodes, and API Gateway decodes. */
export const encodeComponent = (text: string): string =>
  encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** A key given twice (as a browser's request may) keeps every value, in order. */
export type Query = Readonly<Record<string, string | number | boolean | readonly string[] | undefined>>;

export interface CallOptions {
  readonly query?: Query;
  /** Sent as JSON. */
  readonly body?: unknown;
  /** A body as it came (the dashboard's proxy), with its content type. */
  readonly rawBody?: { readonly text: string; readonly contentType?: string };
  /** Answer a non-2xx status too, instead of throwing an ApiError (the dashboard's proxy passes it on). */
  readonly acceptErrors?: boolean;
}

const definedQuery = (query: Query | undefined): Record<string, string | string[]> =>
  Object.fromEntries(
    Object.entries(query ?? {})
      .filter((entry): entry is [string, string | number | boolean | readonly string[]] => entry[1] !== undefined)
      .map(([key, value]) => [key, Array.isArray(value) ? [...value] : String(value)]),
  );

/** The answer's own sentence: `{error, code}` from requeue, `{message}` from API Gateway itself (a 403 of IAM, a 401 of JWT, a 429). */
const errorOf = (status: number, body: unknown, text: string): ApiError => {
  const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const sentence =
    typeof fields.error === 'string'
      ? fields.error
      : typeof fields.message === 'string'
        ? fields.message
        : text.trim() || `HTTP ${status} with no body`;
  return new ApiError(status, sentence, typeof fields.code === 'string' ? fields.code : undefined, body);
};

const describeNetworkError = (error: NodeJS.ErrnoException, where: string): string => {
  switch (error.code) {
    case 'ECONNREFUSED':
      return `Nothing answers at ${where} (connection refused). Is \`npm start\` running there, or is --url (REQUEUE_URL) wrong?`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `The host of ${where} cannot be found (${error.code}). Check --url (REQUEUE_URL).`;
    case 'ETIMEDOUT':
    case 'ECONNRESET':
      return `The connection to ${where} failed (${error.code}); try again.`;
    default:
      return `Could not reach ${where}: ${error.message}`;
  }
};

/** A request to one API, authorized as the target says; a non-2xx answer throws an ApiError. */
export const createApiClient = (target: ApiTarget) => {
  const basePath = target.url.pathname.replace(/\/+$/, '');
  const call = async (method: string, path: string, options: CallOptions = {}): Promise<ApiAnswer> => {
    const query = definedQuery(options.query);
    const queryString = Object.entries(query)
      .flatMap(([key, value]) => [value].flat().map((one) => `${encodeComponent(key)}=${encodeComponent(one)}`))
      .join('&');
    const fullPath = `${basePath}${path}`;
    const body =
      options.rawBody !== undefined ? options.rawBody.text : options.body === undefined ? undefined : JSON.stringify(options.body);
    const contentType = options.rawBody !== undefined ? options.rawBody.contentType : body === undefined ? undefined : 'application/json';
    let headers: Record<string, string> = {
      host: target.url.host,
      accept: 'application/json',
      ...(contentType === undefined ? {} : { 'content-type': contentType }),
    };
    const auth = target.authorization;
    if (auth.kind === 'bearer') headers.authorization = `Bearer ${auth.token}`;
    if (auth.kind === 'sigv4') {
      headers = await auth.sign({
        method,
        protocol: target.url.protocol,
        hostname: target.url.hostname,
        ...(target.url.port ? { port: Number(target.url.port) } : {}),
        path: fullPath,
        query,
        headers,
        ...(body === undefined ? {} : { body }),
      });
    }
    const peer = target.connectTo ?? target.url;
    const where = `${peer.origin}${target.connectTo ? ` (for ${target.url.host})` : ''}`;
    const send = peer.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<ApiAnswer>((resolve, reject) => {
      const req = send(
        {
          method,
          protocol: peer.protocol,
          hostname: peer.hostname.replace(/^\[|\]$/g, ''),
          port: peer.port || (peer.protocol === 'https:' ? 443 : 80),
          path: queryString ? `${fullPath}?${queryString}` : fullPath,
          headers: { ...headers, ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }) },
          // TLS names the host connected to (node would take the Host header's): a VPC endpoint's certificate is its own
          ...(peer.protocol === 'https:' ? { servername: peer.hostname } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', (error) => reject(new UnreachableError(describeNetworkError(error, where), { cause: error })));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              // not JSON (a proxy's HTML page): the text is the answer
            }
            const status = res.statusCode ?? 0;
            const answer = { status, headers: res.headers, body: parsed, text };
            if ((status >= 200 && status < 300) || options.acceptErrors) resolve(answer);
            else reject(errorOf(status, parsed, text));
          });
        },
      );
      req.on('error', (error: NodeJS.ErrnoException) => reject(new UnreachableError(describeNetworkError(error, where), { cause: error })));
      req.end(body);
    });
  };
  return { target, call };
};

export type ApiClient = ReturnType<typeof createApiClient>;
