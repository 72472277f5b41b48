import type {
  APIGatewayProxyEvent,
  APIGatewayProxyEventV2,
  APIGatewayProxyResult,
  APIGatewayProxyStructuredResultV2,
} from 'aws-lambda';
import { InvalidJsonError } from '../core/errors';

/**
 * What API Gateway sends a Lambda proxy integration: payload format 1.0 (a
 * REST API, or an HTTP API set to 1.0) or 2.0 (an HTTP API).
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
 */
export type ApiGatewayEvent = APIGatewayProxyEvent | APIGatewayProxyEventV2;
export type ApiGatewayResult = APIGatewayProxyResult | APIGatewayProxyStructuredResultV2;

export type PayloadFormat = '1.0' | '2.0';

/**
 * Who sent a request, as the route's authorizer proved it: an IAM principal
 * (SigV4) by its ARN, or a JWT (an HTTP API JWT authorizer, a REST API
 * Cognito user pool authorizer) by its subject.
 */
export interface Actor {
  readonly type: 'iam' | 'jwt';
  readonly id: string;
}

/** A request as the handlers read it, whichever format it came in. */
export interface HttpRequest {
  readonly format: PayloadFormat;
  readonly method: string;
  /** The route as the table writes it, e.g. `GET /jobs/details/{jobId}`. */
  readonly routeKey: string;
  /** The route's `{name}` segments, decoded. */
  readonly pathParameters: Readonly<Record<string, string | undefined>>;
  /** Every value each query key was given, decoded: a repeated key keeps all of its values. */
  readonly query: Readonly<Record<string, readonly string[]>>;
  /** By lower-cased name; a repeated header's values joined with commas. */
  readonly headers: Readonly<Record<string, string>>;
  /** The body as text, decoded from base64 when API Gateway encoded it; undefined when empty. */
  readonly body: string | undefined;
  /** Undefined when no authorizer vouched for the caller (the local runtime). */
  readonly actor: Actor | undefined;
}

/** What a handler answers; {@link toResult} writes it for API Gateway. */
export interface HttpResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export class UnknownEventError extends Error {
  override readonly name = 'UnknownEventError';
}

const isV2 = (event: ApiGatewayEvent): event is APIGatewayProxyEventV2 =>
  (event as { version?: unknown } | null)?.version === '2.0';

const isV1 = (event: ApiGatewayEvent): event is APIGatewayProxyEvent =>
  typeof (event as { httpMethod?: unknown } | null)?.httpMethod === 'string';

const decodeComponent = (text: string): string => {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
};

const UTF8 = new TextDecoder('utf-8', { fatal: true });

const bodyText = (body: string | null | undefined, isBase64Encoded: boolean): string | undefined => {
  if (body === undefined || body === null || body === '') return undefined;
  if (!isBase64Encoded) return body;
  // API Gateway base64-encodes a body it does not take for text; JSON is UTF-8, so bytes that are not are no JSON
  try {
    return UTF8.decode(Buffer.from(body, 'base64'));
  } catch {
    throw new InvalidJsonError('The request body is not UTF-8 text; send JSON encoded as UTF-8');
  }
};

const lowerCased = (headers: Record<string, string | undefined> | null | undefined): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    const key = name.toLowerCase();
    out[key] = key in out ? `${out[key]},${value}` : value;
  }
  return out;
};

const definedValues = (record: Record<string, string | undefined> | null | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(record ?? {}).filter((entry): entry is [string, string] => entry[1] !== undefined));

/**
 * Payload 2.0 joins a repeated key's values with commas (`a=1&a=2` → `a:
 * '1,2'`), so its values are taken from API Gateway as it decoded them, and
 * the raw query string only tells which keys came more than once (their
 * values then read from it, `+` as a space, as API Gateway reads them).
 */
const queryOfV2 = (event: APIGatewayProxyEventV2): Record<string, string[]> => {
  const query: Record<string, string[]> = {};
  for (const [key, value] of Object.entries(definedValues(event.queryStringParameters))) query[key] = [value];
  const raw = new Map<string, string[]>();
  for (const pair of (event.rawQueryString ?? '').split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = decodeComponent((eq === -1 ? pair : pair.slice(0, eq)).replaceAll('+', ' '));
    const value = eq === -1 ? '' : decodeComponent(pair.slice(eq + 1).replaceAll('+', ' '));
    raw.set(key, [...(raw.get(key) ?? []), value]);
  }
  for (const [key, values] of raw) if (values.length > 1) query[key] = values;
  return query;
};

/** Payload 1.0 lists every value of each key in multiValueQueryStringParameters (queryStringParameters keeps the last). */
const queryOfV1 = (event: APIGatewayProxyEvent): Record<string, string[]> => {
  const query: Record<string, string[]> = {};
  for (const [key, value] of Object.entries(definedValues(event.queryStringParameters))) query[key] = [value];
  for (const [key, values] of Object.entries(event.multiValueQueryStringParameters ?? {})) {
    if (values && values.length > 0) query[key] = values;
  }
  return query;
};

const headersOfV1 = (event: APIGatewayProxyEvent): Record<string, string> => {
  const multi = event.multiValueHeaders ?? {};
  const joined: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) if (value !== undefined) joined[name] = value;
  // the multi-value list holds every value, the single-value map only the last
  for (const [name, values] of Object.entries(multi)) if (values && values.length > 0) joined[name] = values.join(',');
  return lowerCased(joined);
};

const nonEmpty = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

const actorOfV2 = (event: APIGatewayProxyEventV2): Actor | undefined => {
  const authorizer = (event.requestContext as { authorizer?: { iam?: { userArn?: unknown }; jwt?: { claims?: Record<string, unknown> } } })
    .authorizer;
  const arn = nonEmpty(authorizer?.iam?.userArn);
  if (arn) return { type: 'iam', id: arn };
  const subject = nonEmpty(authorizer?.jwt?.claims?.sub);
  if (subject) return { type: 'jwt', id: subject };
  return undefined;
};

const actorOfV1 = (event: APIGatewayProxyEvent): Actor | undefined => {
  const arn = nonEmpty(event.requestContext?.identity?.userArn);
  if (arn) return { type: 'iam', id: arn };
  // a REST API's Cognito user pool authorizer, or an HTTP API's JWT authorizer in format 1.0
  const claims = (event.requestContext?.authorizer as { claims?: Record<string, unknown> | null } | null | undefined)?.claims;
  const subject = nonEmpty(claims?.sub);
  if (subject) return { type: 'jwt', id: subject };
  return undefined;
};

/**
 * A REST API passes path parameters as the client encoded them (`a%3Ab` for
 * the id `a:b`); an HTTP API decodes them, in either format. Were a value
 * decoded already, decoding it again would change it only if it held `%`,
 * which no id does: such a value is refused either way or read as another.
 */
const pathParametersOfV1 = (event: APIGatewayProxyEvent): Record<string, string> => {
  const params = definedValues(event.pathParameters);
  const fromRestApi = (event as { version?: unknown }).version === undefined;
  if (!fromRestApi) return params;
  return Object.fromEntries(Object.entries(params).map(([name, value]) => [name, decodeComponent(value)]));
};

/** Read either payload format into the one request the handlers know. */
export const toHttpRequest = (event: ApiGatewayEvent): HttpRequest => {
  if (isV2(event)) {
    return {
      format: '2.0',
      method: event.requestContext?.http?.method ?? '',
      routeKey: event.routeKey,
      pathParameters: definedValues(event.pathParameters),
      query: queryOfV2(event),
      headers: lowerCased(event.headers),
      body: bodyText(event.body, event.isBase64Encoded),
      actor: actorOfV2(event),
    };
  }
  if (isV1(event)) {
    return {
      format: '1.0',
      method: event.httpMethod,
      routeKey: `${event.httpMethod} ${event.resource}`,
      pathParameters: pathParametersOfV1(event),
      query: queryOfV1(event),
      headers: headersOfV1(event),
      body: bodyText(event.body, event.isBase64Encoded),
      actor: actorOfV1(event),
    };
  }
  throw new UnknownEventError(
    'The event is neither API Gateway payload format 1.0 (httpMethod) nor 2.0 (version "2.0"): is the function behind a Lambda proxy integration?',
  );
};

/**
 * The result API Gateway reads alike in both formats: 1.0's keys but
 * `multiValueHeaders`, 2.0's but `cookies`. A REST API answers 502 to a result
 * with any other key.
 */
export const toResult = (response: HttpResponse): ApiGatewayResult => ({
  statusCode: response.statusCode,
  headers: { ...response.headers },
  body: response.body,
  isBase64Encoded: false,
});
