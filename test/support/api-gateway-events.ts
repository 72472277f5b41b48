import type { APIGatewayProxyEvent, APIGatewayProxyEventV2 } from 'aws-lambda';
import type { Route } from '../../lambda/routes';

/**
 * Events as API Gateway sends them to a Lambda proxy integration, in both
 * payload formats, built from AWS's documented examples:
 *
 * - [2.0]: "Working with AWS Lambda proxy integrations for HTTP APIs",
 *   https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
 *   (repeated query keys and headers joined with commas, cookies apart, no
 *   multi-value maps; `requestContext.authorizer.jwt.claims`);
 *   IAM: `requestContext.authorizer.iam` (accessKey, accountId, callerId,
 *   cognitoIdentity, principalOrgId, userArn, userId), which AWS's page on
 *   IAM authorization for HTTP APIs does not show; as @types/aws-lambda's
 *   APIGatewayEventRequestContextIAMAuthorizer and Powertools' captured
 *   event (packages/parser/tests/events/apigw-http/iam-auth.json) have it.
 * - [1.0], a REST API: "Set up Lambda proxy integrations in API Gateway",
 *   section "Input format of a Lambda function for proxy integration",
 *   https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
 *   (`resource`, `path`, `httpMethod`, `headers` and `multiValueHeaders`,
 *   `queryStringParameters` holding a repeated key's last value and
 *   `multiValueQueryStringParameters` all of them, `requestContext.identity`
 *   for AWS_IAM, `requestContext.authorizer.claims` for COGNITO_USER_POOLS,
 *   null for what is absent).
 */

/** The ARN and key of the doc's AWS_IAM example. */
export const IAM_USER_ARN = 'arn:aws:iam::123456789012:user/alice';
const IAM_ACCESS_KEY = 'AKIAIOSFODNN7EXAMPLE';
/** A Cognito user pool's ID token subject. */
export const JWT_SUBJECT = 'd2f50444-0041-7036-aea2-a955fca33d37';
const JWT_CLAIMS = {
  sub: JWT_SUBJECT,
  aud: '3nkoep4151b7umeggnottc30u9',
  iss: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_EXAMPLE',
  'cognito:username': 'alice',
  token_use: 'id',
  auth_time: '1718636404',
  iat: '1718636404',
  exp: '1718722804',
};

export type Authorization = 'none' | 'iam' | 'jwt';

/** One request as a client sends it. */
export interface RequestSpec {
  /** As sent, percent-encoded, without the query string. */
  readonly path: string;
  /** As sent, without the `?`. */
  readonly query?: string;
  /** By name as sent; an array for a header sent more than once. */
  readonly headers?: Readonly<Record<string, string | readonly string[]>>;
  readonly body?: string | Buffer;
  /** Whether API Gateway takes the body for binary, passing it base64-encoded. @default false */
  readonly binary?: boolean;
  /** @default 'none' */
  readonly auth?: Authorization;
}

const decode = (text: string): string => {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
};

/** `a=1&a=2&b` → [['a', '1'], ['a', '2'], ['b', '']], decoded (`+` a space). */
const queryPairs = (raw: string): [string, string][] =>
  raw
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const key = eq === -1 ? pair : pair.slice(0, eq);
      const value = eq === -1 ? '' : pair.slice(eq + 1);
      return [decode(key.replaceAll('+', ' ')), decode(value.replaceAll('+', ' '))];
    });

/** The route's `{name}` segments of `path`, as sent (still percent-encoded). */
const rawPathParameters = (route: Route, path: string): Record<string, string> | null => {
  const template = route.path.split('/');
  const actual = path.split('/');
  if (template.length !== actual.length) throw new Error(`${path} does not match ${route.path}`);
  const params: Record<string, string> = {};
  template.forEach((segment, i) => {
    const name = /^\{(\w+)\}$/.exec(segment)?.[1];
    if (name) params[name] = actual[i]!;
    else if (segment !== actual[i]) throw new Error(`${path} does not match ${route.path}`);
  });
  return Object.keys(params).length > 0 ? params : null;
};

const headerList = (spec: RequestSpec): [string, string[]][] =>
  Object.entries(spec.headers ?? {}).map(([name, value]) => [name, typeof value === 'string' ? [value] : [...value]]);

const bodyOf = (spec: RequestSpec): string | undefined => {
  if (spec.body === undefined) return undefined;
  const bytes = typeof spec.body === 'string' ? Buffer.from(spec.body, 'utf8') : spec.body;
  return spec.binary ? bytes.toString('base64') : bytes.toString('utf8');
};

const TIME = '04/Mar/2020:19:15:17 +0000';
const TIME_EPOCH = 1583349317135;

/** The payload-2.0 event an HTTP API sends for `spec` on `route`. */
export const httpApiEvent = (route: Route, spec: RequestSpec): APIGatewayProxyEventV2 => {
  const routeKey = `${route.method} ${route.path}`;
  const headers: Record<string, string> = {
    accept: '*/*',
    host: 'id.execute-api.us-east-1.amazonaws.com',
    'user-agent': 'agent',
    'x-forwarded-for': '192.0.2.1',
    'x-forwarded-port': '443',
    'x-forwarded-proto': 'https',
  };
  let cookies: string[] | undefined;
  for (const [name, values] of headerList(spec)) {
    if (name.toLowerCase() === 'cookie') cookies = values.flatMap((v) => v.split(';').map((c) => c.trim()));
    else headers[name.toLowerCase()] = values.join(',');
  }
  const query = new Map<string, string[]>();
  for (const [key, value] of queryPairs(spec.query ?? '')) query.set(key, [...(query.get(key) ?? []), value]);
  const params = rawPathParameters(route, spec.path);
  const body = bodyOf(spec);
  const auth = spec.auth ?? 'none';
  const authorizer =
    auth === 'iam'
      ? {
          iam: {
            accessKey: IAM_ACCESS_KEY,
            accountId: '123456789012',
            callerId: 'AIDACKCEVSQ6C2EXAMPLE',
            cognitoIdentity: null,
            principalOrgId: null,
            userArn: IAM_USER_ARN,
            userId: 'AIDACKCEVSQ6C2EXAMPLE',
          },
        }
      : auth === 'jwt'
        ? { jwt: { claims: JWT_CLAIMS, scopes: null } }
        : undefined;
  return {
    version: '2.0',
    routeKey,
    rawPath: spec.path,
    rawQueryString: spec.query ?? '',
    ...(cookies ? { cookies } : {}),
    headers,
    ...(query.size > 0
      ? { queryStringParameters: Object.fromEntries([...query].map(([key, values]) => [key, values.join(',')])) }
      : {}),
    requestContext: {
      accountId: '123456789012',
      apiId: 'api-id',
      ...(authorizer ? { authorizer } : {}),
      domainName: 'id.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'id',
      http: { method: route.method, path: spec.path, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'agent' },
      requestId: 'id',
      routeKey,
      stage: '$default',
      time: TIME,
      timeEpoch: TIME_EPOCH,
    },
    // an HTTP API decodes path parameters
    ...(params ? { pathParameters: Object.fromEntries(Object.entries(params).map(([k, v]) => [k, decode(v)])) } : {}),
    ...(body === undefined ? {} : { body }),
    isBase64Encoded: body !== undefined && spec.binary === true,
  } as APIGatewayProxyEventV2;
};

const nullIdentity = {
  accessKey: null,
  accountId: null,
  apiKey: null,
  apiKeyId: null,
  caller: null,
  clientCert: null,
  cognitoAuthenticationProvider: null,
  cognitoAuthenticationType: null,
  cognitoIdentityId: null,
  cognitoIdentityPoolId: null,
  principalOrgId: null,
  sourceIp: '192.0.2.1',
  user: null,
  userAgent: 'PostmanRuntime/7.1.1',
  userArn: null,
};

/**
 * The payload-1.0 event a REST API sends for `spec` on `route`, from the
 * stage `prod`. Path parameters stay as the client encoded them: a REST API
 * does not decode them (an HTTP API does).
 */
export const restApiEvent = (route: Route, spec: RequestSpec): APIGatewayProxyEvent => {
  const headers: Record<string, string> = {
    Accept: '*/*',
    Host: 'gy415nuibc.execute-api.us-east-1.amazonaws.com',
    'User-Agent': 'PostmanRuntime/7.1.1',
    'X-Forwarded-For': '192.0.2.1, 198.51.100.7',
    'X-Forwarded-Port': '443',
    'X-Forwarded-Proto': 'https',
  };
  const multiValueHeaders: Record<string, string[]> = Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name, [value]]),
  );
  for (const [name, values] of headerList(spec)) {
    headers[name] = values[values.length - 1]!;
    multiValueHeaders[name] = values;
  }
  const pairs = queryPairs(spec.query ?? '');
  const multi: Record<string, string[]> = {};
  for (const [key, value] of pairs) multi[key] = [...(multi[key] ?? []), value];
  const auth = spec.auth ?? 'none';
  const body = bodyOf(spec);
  return {
    resource: route.path,
    path: spec.path,
    httpMethod: route.method,
    headers,
    multiValueHeaders,
    queryStringParameters:
      pairs.length > 0 ? Object.fromEntries(Object.entries(multi).map(([key, values]) => [key, values[values.length - 1]!])) : null,
    multiValueQueryStringParameters: pairs.length > 0 ? multi : null,
    pathParameters: rawPathParameters(route, spec.path),
    stageVariables: null,
    requestContext: {
      accountId: '123456789012',
      apiId: 'gy415nuibc',
      ...(auth === 'jwt' ? { authorizer: { claims: JWT_CLAIMS } } : {}),
      domainName: 'gy415nuibc.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'gy415nuibc',
      extendedRequestId: 'request-id',
      httpMethod: route.method,
      identity:
        auth === 'iam'
          ? {
              ...nullIdentity,
              accessKey: IAM_ACCESS_KEY,
              accountId: '123456789012',
              caller: 'AIDACKCEVSQ6C2EXAMPLE',
              user: 'AIDACKCEVSQ6C2EXAMPLE',
              userArn: IAM_USER_ARN,
            }
          : nullIdentity,
      path: `/prod${spec.path}`,
      protocol: 'HTTP/1.1',
      requestId: 'deef4878-7910-11e6-8f14-25afc3e9ae33',
      requestTime: TIME,
      requestTimeEpoch: TIME_EPOCH,
      resourceId: 'roq9wj',
      resourcePath: route.path,
      stage: 'prod',
    },
    body: body ?? null,
    isBase64Encoded: body !== undefined && spec.binary === true,
  } as APIGatewayProxyEvent;
};

export type Format = 'rest (1.0)' | 'http (2.0)';

export const eventFor = (format: Format, route: Route, spec: RequestSpec): APIGatewayProxyEvent | APIGatewayProxyEventV2 =>
  format === 'rest (1.0)' ? restApiEvent(route, spec) : httpApiEvent(route, spec);

export interface ReadResult {
  readonly status: number;
  /** By lower-cased name. */
  readonly headers: Record<string, string>;
  readonly body: any;
}

/** The result keys API Gateway reads; a REST API answers 502 to any other. */
const RESULT_KEYS: Record<Format, readonly string[]> = {
  'rest (1.0)': ['statusCode', 'headers', 'multiValueHeaders', 'body', 'isBase64Encoded'],
  'http (2.0)': ['statusCode', 'headers', 'cookies', 'body', 'isBase64Encoded'],
};

/**
 * Read a handler's result as API Gateway would, failing on anything it
 * would refuse: a key outside the format's, a status that is no integer,
 * a body that is no string.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html#api-gateway-simple-proxy-for-lambda-output-format
 */
export const readResult = (format: Format, result: unknown): ReadResult => {
  if (typeof result !== 'object' || result === null) throw new Error(`The result is not an object: ${String(result)}`);
  const extra = Object.keys(result).filter((key) => !RESULT_KEYS[format].includes(key));
  if (extra.length > 0) throw new Error(`The result has keys API Gateway (${format}) does not read: ${extra.join(', ')}`);
  const { statusCode, headers, body, isBase64Encoded } = result as Record<string, unknown>;
  if (typeof statusCode !== 'number' || !Number.isInteger(statusCode)) throw new Error(`statusCode is ${String(statusCode)}`);
  if (typeof body !== 'string') throw new Error(`body is ${typeof body}, not a string`);
  if (isBase64Encoded !== undefined && typeof isBase64Encoded !== 'boolean') throw new Error('isBase64Encoded is no boolean');
  const lower: Record<string, string> = {};
  for (const [name, value] of Object.entries((headers ?? {}) as Record<string, unknown>)) {
    if (!['string', 'number', 'boolean'].includes(typeof value)) throw new Error(`header ${name} is ${typeof value}`);
    lower[name.toLowerCase()] = String(value);
  }
  const text = isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body;
  return { status: statusCode, headers: lower, body: JSON.parse(text) };
};
