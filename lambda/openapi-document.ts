import * as z from 'zod';
import { version } from '../package.json';
import { errorBodySchema, gatewayMessageSchema } from './core/api-schemas';
import { PATH_PARAMETERS } from './core/request-parameters';
import { ROUTE_DOCS, type ResponseDoc, type RouteDoc } from './route-docs';
import { ROUTES, routeKey, type Route } from './routes';

/**
 * The OpenAPI 3.1 description of every route in lambda/routes.ts, built from
 * the entries of lambda/route-docs.ts: request and response schemas are the
 * zod schemas the handlers validate with and shape their bodies by, turned
 * into JSON Schema 2020-12 (OpenAPI 3.1's own dialect).
 */

type JsonObject = Record<string, unknown>;

export class MissingRouteDocError extends Error {
  override readonly name = 'MissingRouteDocError';
}

/** OpenAPI's name for an answer shared by every operation, under components.responses. */
export const SHARED_RESPONSES = {
  Unauthorized: 401,
  Forbidden: 403,
  TooManyRequests: 429,
  InternalError: 500,
  DependencyUnavailable: 503,
} as const;

/** What any method and path not described here answers, locally as API Gateway does. */
export const ROUTE_NOT_FOUND = 'RouteNotFound';

/** Schemas with an id (`.meta({id})`, lambda/core/api-schemas.ts) go to components.schemas, named there. */
type Named = Record<string, JsonObject>;

const toJsonSchema = (schema: z.ZodType, io: 'input' | 'output', named: Named = {}): JsonObject => {
  const { $schema: _, $defs, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as JsonObject;
  const toComponents = (value: JsonObject): JsonObject =>
    JSON.parse(JSON.stringify(value).replaceAll('"#/$defs/', '"#/components/schemas/')) as JsonObject;
  for (const [id, definition] of Object.entries(($defs ?? {}) as Named)) named[id] = toComponents(definition);
  return toComponents(rest);
};

/**
 * A query parameter as it is after the handler's parse (`limit` an integer),
 * or as the query string spells it where the parse is code JSON Schema cannot
 * show (`dryRun`: `true` or `false`).
 */
const parameterSchema = (field: z.ZodType): JsonObject => {
  const output = toJsonSchema(field, 'output');
  const { description: _, ...constraints } = output;
  return Object.keys(constraints).length > 0 ? output : toJsonSchema(field, 'input');
};

const json = (schema: JsonObject) => ({ 'application/json': { schema } });

const response = (doc: ResponseDoc, named: Named): JsonObject => ({
  description: doc.description,
  ...(doc.paged
    ? {
        headers: {
          'X-Next-Cursor': {
            description: 'Present when more remain: give it as ?cursor= with the same filters for the next page',
            schema: { type: 'string' },
          },
        },
      }
    : {}),
  content: json(toJsonSchema(doc.schema, 'output', named)),
});

const PATH_PARAMETER = /\{([^}+]+)\}/g;

const parameters = (route: Route, doc: RouteDoc): JsonObject[] => {
  const path = [...route.path.matchAll(PATH_PARAMETER)].map(([, name]) => {
    const schema = PATH_PARAMETERS[name as keyof typeof PATH_PARAMETERS];
    if (!schema) throw new MissingRouteDocError(`${routeKey(route)}: no schema for the path parameter {${name}} in lambda/core/request-parameters.ts`);
    const jsonSchema = toJsonSchema(schema, 'input');
    return { name, in: 'path', required: true, description: jsonSchema.description, schema: jsonSchema };
  });
  const query = Object.entries(doc.query?.shape ?? {}).map(([name, field]) => {
    const schema = parameterSchema(field as z.ZodType);
    return {
      name,
      in: 'query',
      required: !(field as z.ZodType).safeParse(undefined).success,
      ...(schema.description ? { description: schema.description } : {}),
      schema,
    };
  });
  return [...path, ...query];
};

const usesDependencies = (route: Route): boolean => {
  const { table, mainQueue, deadLetterQueue, taskQueue, workerSwitch } = route.permissions;
  return [table, mainQueue, deadLetterQueue, taskQueue, workerSwitch].some((access) => (access?.length ?? 0) > 0);
};

const operationId = (route: Route): string => route.handler.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());

const operation = (route: Route, doc: RouteDoc, named: Named): JsonObject => {
  const shared = Object.entries(SHARED_RESPONSES)
    .filter(([name]) => name !== 'DependencyUnavailable' || usesDependencies(route))
    .map(([name, status]) => [String(status), { $ref: `#/components/responses/${name}` }]);
  const own = Object.entries(doc.responses).map(([status, responseDoc]) => [status, response(responseDoc, named)]);
  const params = parameters(route, doc);
  return {
    operationId: operationId(route),
    summary: route.description,
    ...(doc.details ? { description: doc.details } : {}),
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(doc.body
      ? { requestBody: { description: doc.body.description, required: doc.body.required, content: json(toJsonSchema(doc.body.schema, 'input', named)) } }
      : {}),
    responses: Object.fromEntries([...own, ...shared].sort(([a], [b]) => Number(a) - Number(b))),
  };
};

/** The API Gateway path syntax is OpenAPI's: `{jobId}`. */
const paths = (routes: readonly Route[], docs: Readonly<Record<string, RouteDoc>>, named: Named): JsonObject => {
  const unknown = Object.keys(docs).filter((key) => !routes.some((route) => routeKey(route) === key));
  if (unknown.length > 0) throw new MissingRouteDocError(`lambda/route-docs.ts describes routes that lambda/routes.ts lacks: ${unknown.join(', ')}`);
  const out: Record<string, JsonObject> = {};
  for (const route of routes) {
    const doc = docs[routeKey(route)];
    if (!doc) throw new MissingRouteDocError(`${routeKey(route)} has no entry in lambda/route-docs.ts: add one`);
    out[route.path] = { ...out[route.path], [route.method.toLowerCase()]: operation(route, doc, named) };
  }
  return out;
};

const components = (named: Named) => {
  const error = (description: string) => ({ description, content: json(toJsonSchema(errorBodySchema, 'output', named)) });
  const gateway = (description: string) => ({ description, content: json(toJsonSchema(gatewayMessageSchema, 'output', named)) });
  return {
    responses: {
      Unauthorized: {
        description:
          'Locally with REQUEUE_API_KEY set: a missing or wrong key (UNAUTHORIZED). On AWS with JWT authorization: ' +
          'a missing or invalid token, answered by API Gateway as {message}',
        content: json({ anyOf: [toJsonSchema(errorBodySchema, 'output', named), toJsonSchema(gatewayMessageSchema, 'output', named)] }),
      },
      Forbidden: gateway('On AWS: a signature API Gateway refused, or a principal not allowed execute-api:Invoke'),
      TooManyRequests: gateway("On AWS: over the stage's throttling limits; try again later"),
      InternalError: error('INTERNAL_ERROR: a bug; the details are in the function\'s log'),
      DependencyUnavailable: error('DEPENDENCY_UNAVAILABLE: SQS, DynamoDB or Lambda could not be reached; nothing was changed, try again'),
      [ROUTE_NOT_FOUND]: error('ROUTE_NOT_FOUND: what any method and path not described here answers'),
    },
    schemas: named,
    securitySchemes: {
      sigv4: {
        type: 'apiKey',
        name: 'Authorization',
        in: 'header',
        description: 'On AWS by default: requests signed with AWS Signature Version 4 for the service execute-api',
        'x-amazon-apigateway-authtype': 'awsSigv4',
      },
      jwt: {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description: 'On AWS deployed with -c jwtIssuer: a token of that issuer (on a REST API, an ID token of the Cognito user pool)',
      },
      localApiKey: {
        type: 'http',
        scheme: 'bearer',
        description: 'Locally, when REQUEUE_API_KEY is set: Authorization: Bearer <REQUEUE_API_KEY>; without it the local runtime asks for nothing',
      },
    },
  };
};

/** The whole description; throws MissingRouteDocError when a route and lambda/route-docs.ts disagree. */
export const buildOpenApiDocument = (
  routes: readonly Route[] = ROUTES,
  docs: Readonly<Record<string, RouteDoc>> = ROUTE_DOCS,
): JsonObject => {
  const named: Named = {};
  return {
    openapi: '3.1.0',
    info: {
      title: 'requeue',
      version,
      description:
        'A serverless job queue: enqueue named jobs, list, inspect and retry failed ones. JSON in and out; every error ' +
        'requeue answers is {"error": "<a sentence you can act on>", "code": "<MACHINE_CODE>"} (what API Gateway refuses ' +
        'itself on AWS, 401, 403 and 429, is its own {"message"}). Times are epoch milliseconds.',
    },
    // relative to where this document is served: the local runtime, or the deployed API's stage
    servers: [{ url: '.' }],
    // one of them, as deployed: SigV4 or a JWT on AWS, the API key or nothing locally
    security: [{ sigv4: [] }, { jwt: [] }, { localApiKey: [] }, {}],
    paths: paths(routes, docs, named),
    // after the paths: their schemas fill `named`
    components: components(named),
  };
};
