import type { APIGatewayProxyEvent, APIGatewayProxyEventV2 } from 'aws-lambda';
import { InvalidJsonError } from '../../lambda/core/errors';
import { toHttpRequest, UnknownEventError, type ApiGatewayEvent } from '../../lambda/handlers/http-request';
import { ROUTES } from '../../lambda/routes';
import { httpApiEvent, IAM_USER_ARN, JWT_SUBJECT, restApiEvent } from '../support/api-gateway-events';

// The examples AWS documents, as printed there (CERT_CONTENT and all), so the
// normalisation is checked against AWS's shapes, not against our own factories'.

/** "Working with AWS Lambda proxy integrations for HTTP APIs", format 2.0. */
const DOC_V2 = {
  version: '2.0',
  routeKey: '$default',
  rawPath: '/my/path',
  rawQueryString: 'parameter1=value1&parameter1=value2&parameter2=value',
  cookies: ['cookie1', 'cookie2'],
  headers: { Header1: 'value1', Header2: 'value1,value2' },
  queryStringParameters: { parameter1: 'value1,value2', parameter2: 'value' },
  requestContext: {
    accountId: '123456789012',
    apiId: 'api-id',
    authentication: {
      clientCert: {
        clientCertPem: 'CERT_CONTENT',
        subjectDN: 'www.example.com',
        issuerDN: 'Example issuer',
        serialNumber: 'a1:a1:a1:a1:a1:a1:a1:a1:a1:a1:a1:a1:a1:a1:a1:a1',
        validity: { notBefore: 'May 28 12:30:02 2019 GMT', notAfter: 'Aug  5 09:36:04 2021 GMT' },
      },
    },
    authorizer: {
      jwt: { claims: { claim1: 'value1', claim2: 'value2' }, scopes: ['scope1', 'scope2'] },
      lambda: { exampleKey1: 'exampleValue1', exampleKey2: 'exampleValue2' },
    },
    domainName: 'id.execute-api.us-east-1.amazonaws.com',
    domainPrefix: 'id',
    http: { method: 'POST', path: '/my/path', protocol: 'HTTP/1.1', sourceIp: 'IP', userAgent: 'agent' },
    requestId: 'id',
    routeKey: '$default',
    stage: '$default',
    time: '12/Mar/2020:19:03:58 +0000',
    timeEpoch: 1583348638390,
  },
  body: 'Hello from Lambda',
  pathParameters: { parameter1: 'value1' },
  isBase64Encoded: false,
  stageVariables: { stageVariable1: 'value1', stageVariable2: 'value2' },
} as unknown as APIGatewayProxyEventV2;

/** The same page, format 1.0 (an HTTP API set to 1.0). */
const DOC_HTTP_V1 = {
  version: '1.0',
  resource: '/my/path',
  path: '/my/path',
  httpMethod: 'GET',
  headers: { Header1: 'value1', Header2: 'value2' },
  multiValueHeaders: { Header1: ['value1'], Header2: ['value1', 'value2'] },
  queryStringParameters: { parameter1: 'value1', parameter2: 'value' },
  multiValueQueryStringParameters: { parameter1: ['value1', 'value2'], parameter2: ['value'] },
  requestContext: {
    accountId: '123456789012',
    apiId: 'id',
    authorizer: { claims: null, scopes: null },
    domainName: 'id.execute-api.us-east-1.amazonaws.com',
    domainPrefix: 'id',
    extendedRequestId: 'request-id',
    httpMethod: 'GET',
    identity: {
      accessKey: null,
      accountId: null,
      caller: null,
      cognitoAuthenticationProvider: null,
      cognitoAuthenticationType: null,
      cognitoIdentityId: null,
      cognitoIdentityPoolId: null,
      principalOrgId: null,
      sourceIp: 'IP',
      user: null,
      userAgent: 'user-agent',
      userArn: null,
    },
    path: '/my/path',
    protocol: 'HTTP/1.1',
    requestId: 'id=',
    requestTime: '04/Mar/2020:19:15:17 +0000',
    requestTimeEpoch: 1583349317135,
    resourceId: null,
    resourcePath: '/my/path',
    stage: '$default',
  },
  pathParameters: null,
  stageVariables: null,
  body: 'Hello from Lambda!',
  isBase64Encoded: false,
} as unknown as APIGatewayProxyEvent;

/**
 * "Set up Lambda proxy integrations in API Gateway", input format: a REST API
 * (no `version`), `POST /testStage/hello/world?name=me` on `/{proxy+}`.
 */
const DOC_REST = {
  resource: '/{proxy+}',
  path: '/hello/world',
  httpMethod: 'POST',
  headers: {
    Accept: '*/*',
    'Accept-Encoding': 'gzip, deflate',
    'cache-control': 'no-cache',
    'Content-Type': 'application/json',
    headerName: 'headerValue',
    Host: 'gy415nuibc.execute-api.us-east-1.amazonaws.com',
    'User-Agent': 'PostmanRuntime/2.4.5',
    'X-Forwarded-For': '54.240.196.186, 54.182.214.83',
    'X-Forwarded-Port': '443',
    'X-Forwarded-Proto': 'https',
  },
  multiValueHeaders: {
    Accept: ['*/*'],
    'Accept-Encoding': ['gzip, deflate'],
    'cache-control': ['no-cache'],
    '': [''],
    'Content-Type': ['application/json'],
    headerName: ['headerValue'],
    Host: ['gy415nuibc.execute-api.us-east-1.amazonaws.com'],
    'User-Agent': ['PostmanRuntime/2.4.5'],
    'X-Forwarded-For': ['54.240.196.186, 54.182.214.83'],
    'X-Forwarded-Port': ['443'],
    'X-Forwarded-Proto': ['https'],
  },
  queryStringParameters: { name: 'me', multivalueName: 'me' },
  multiValueQueryStringParameters: { name: ['me'], multivalueName: ['you', 'me'] },
  pathParameters: { proxy: 'hello/world' },
  stageVariables: { stageVariableName: 'stageVariableValue' },
  requestContext: {
    accountId: '12345678912',
    resourceId: 'roq9wj',
    stage: 'testStage',
    requestId: 'deef4878-7910-11e6-8f14-25afc3e9ae33',
    identity: {
      cognitoIdentityPoolId: null,
      accountId: null,
      cognitoIdentityId: null,
      caller: null,
      apiKey: null,
      sourceIp: '192.168.196.186',
      cognitoAuthenticationType: null,
      cognitoAuthenticationProvider: null,
      userArn: null,
      userAgent: 'PostmanRuntime/2.4.5',
      user: null,
    },
    resourcePath: '/{proxy+}',
    httpMethod: 'POST',
    apiId: 'gy415nuibc',
  },
  body: '{\r\n\t"a": 1\r\n}',
  isBase64Encoded: false,
} as unknown as APIGatewayProxyEvent;

/** The same page: the `requestContext` of a REST API method with AWS_IAM authorization. */
const DOC_REST_IAM_CONTEXT = {
  requestTime: '20/Feb/2018:22:48:57 +0000',
  path: '/test/',
  accountId: '123456789012',
  protocol: 'HTTP/1.1',
  resourceId: 'yx5mhem7ye',
  stage: 'test',
  requestTimeEpoch: 1519166937665,
  requestId: '3c3ecbaa-1690-11e8-ae31-8f39f1d24afd',
  identity: {
    cognitoIdentityPoolId: null,
    accountId: '123456789012',
    cognitoIdentityId: null,
    caller: 'AIDAJ........4HCKVJZG',
    sourceIp: '51.240.196.104',
    accessKey: 'IAM_user_access_key',
    cognitoAuthenticationType: null,
    cognitoAuthenticationProvider: null,
    userArn: 'arn:aws:iam::123456789012:user/alice',
    userAgent: 'PostmanRuntime/7.1.1',
    user: 'AIDAJ........4HCKVJZG',
  },
  resourcePath: '/',
  httpMethod: 'GET',
  apiId: 'qr2gd9cfmf',
};

const route = (key: string) => ROUTES.find((r) => `${r.method} ${r.path}` === key)!;
const LIST = route('GET /jobs/failed');
const DETAILS = route('GET /jobs/details/{jobId}');
const ENQUEUE = route('POST /jobs');

describe('the documented payload 2.0 event', () => {
  const request = toHttpRequest(DOC_V2);

  it('reads the method, route and path parameters', () => {
    expect(request).toMatchObject({ format: '2.0', method: 'POST', routeKey: '$default', pathParameters: { parameter1: 'value1' } });
  });

  it('keeps both values of the repeated key, not the comma-joined one', () => {
    expect(request.query).toEqual({ parameter1: ['value1', 'value2'], parameter2: ['value'] });
  });

  it('reads headers by lower-cased name and the body as sent', () => {
    expect(request.headers).toEqual({ header1: 'value1', header2: 'value1,value2' });
    expect(request.body).toBe('Hello from Lambda');
  });

  it('names no actor when the JWT has no subject', () => {
    expect(request.actor).toBeUndefined();
  });
});

describe('the documented payload 1.0 event of an HTTP API', () => {
  const request = toHttpRequest(DOC_HTTP_V1);

  it('reads every value of a repeated key and header', () => {
    expect(request).toMatchObject({ format: '1.0', method: 'GET', routeKey: 'GET /my/path', pathParameters: {} });
    expect(request.query).toEqual({ parameter1: ['value1', 'value2'], parameter2: ['value'] });
    expect(request.headers).toEqual({ header1: 'value1', header2: 'value1,value2' });
  });

  it('names no actor when claims and identity are null', () => {
    expect(request.actor).toBeUndefined();
  });
});

describe('the documented REST API event', () => {
  const request = toHttpRequest(DOC_REST);

  it('reads the method, the resource as the route and the proxy path parameter', () => {
    expect(request).toMatchObject({ format: '1.0', method: 'POST', routeKey: 'POST /{proxy+}', pathParameters: { proxy: 'hello/world' } });
  });

  it('keeps both values of multivalueName, where queryStringParameters holds only the last', () => {
    expect(request.query).toEqual({ name: ['me'], multivalueName: ['you', 'me'] });
  });

  it('reads headers by lower-cased name and the body as sent', () => {
    expect(request.headers).toMatchObject({ 'content-type': 'application/json', headername: 'headerValue', 'x-forwarded-port': '443' });
    expect(request.body).toBe('{\r\n\t"a": 1\r\n}');
  });

  it('names the IAM user of an AWS_IAM method as the actor', () => {
    const event = { ...DOC_REST, requestContext: DOC_REST_IAM_CONTEXT } as unknown as APIGatewayProxyEvent;
    expect(toHttpRequest(event).actor).toEqual({ type: 'iam', id: 'arn:aws:iam::123456789012:user/alice' });
  });
});

describe.each([
  ['rest (1.0)', restApiEvent],
  ['http (2.0)', httpApiEvent],
] as const)('a %s event', (_, eventOf) => {
  it('names the IAM principal as the actor', () => {
    expect(toHttpRequest(eventOf(LIST, { path: '/jobs/failed', auth: 'iam' })).actor).toEqual({ type: 'iam', id: IAM_USER_ARN });
  });

  it("names the JWT's subject as the actor", () => {
    expect(toHttpRequest(eventOf(LIST, { path: '/jobs/failed', auth: 'jwt' })).actor).toEqual({ type: 'jwt', id: JWT_SUBJECT });
  });

  it('decodes a base64 body to its text', () => {
    const request = toHttpRequest(eventOf(ENQUEUE, { path: '/jobs', body: '{"name": "café"}', binary: true }));
    expect(request.body).toBe('{"name": "café"}');
  });

  it('refuses a base64 body that is not UTF-8', () => {
    const event = eventOf(ENQUEUE, { path: '/jobs', body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), binary: true });
    expect(() => toHttpRequest(event)).toThrow(InvalidJsonError);
  });

  it('reads no body when there is none', () => {
    expect(toHttpRequest(eventOf(LIST, { path: '/jobs/failed' })).body).toBeUndefined();
  });

  it('tells a value holding a comma from a repeated key', () => {
    expect(toHttpRequest(eventOf(LIST, { path: '/jobs/failed', query: 'error=a%2Cb' })).query).toEqual({ error: ['a,b'] });
    expect(toHttpRequest(eventOf(LIST, { path: '/jobs/failed', query: 'error=a,b&error=c' })).query).toEqual({ error: ['a,b', 'c'] });
  });

  it('decodes a path parameter the client percent-encoded', () => {
    expect(toHttpRequest(eventOf(DETAILS, { path: '/jobs/details/a%3Ab' })).pathParameters).toEqual({ jobId: 'a:b' });
  });
});

it('leaves an HTTP API 1.0 path parameter as API Gateway decoded it', () => {
  // `%253A` from the client, decoded once by API Gateway: the id is `%3A`, not `:`
  const event = { ...DOC_HTTP_V1, pathParameters: { jobId: '%3A' } } as unknown as APIGatewayProxyEvent;
  expect(toHttpRequest(event).pathParameters).toEqual({ jobId: '%3A' });
});

it('refuses an event of neither format', () => {
  expect(() => toHttpRequest({ Records: [] } as unknown as ApiGatewayEvent)).toThrow(UnknownEventError);
  expect(() => toHttpRequest(null as unknown as ApiGatewayEvent)).toThrow(UnknownEventError);
});
