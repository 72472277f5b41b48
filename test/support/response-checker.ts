import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import { buildOpenApiDocument, ROUTE_NOT_FOUND } from '../../lambda/openapi-document';

/**
 * Checks an answer of the HTTP API against the OpenAPI description: the
 * request's method and path must be an operation of it (or the answer the
 * description gives any other path, 404 ROUTE_NOT_FOUND), the status one the
 * operation lists, and the body valid against that status's schema. The
 * end-to-end tests' request helper runs it on every answer.
 */

type Json = Record<string, any>;

export interface CheckedAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

export class ResponseMismatchError extends Error {
  override readonly name = 'ResponseMismatchError';
}

const COMPONENT = /^#\/components\/(schemas|responses)\/([^/]+)$/;

/** Our schemas hold no cycles: every `$ref` into the components can be replaced by what it names. */
const inlineRefs = (document: Json, value: unknown): any => {
  if (Array.isArray(value)) return value.map((item) => inlineRefs(document, item));
  if (typeof value !== 'object' || value === null) return value;
  const ref = (value as Json).$ref;
  if (typeof ref === 'string') {
    const match = COMPONENT.exec(ref);
    const target = match ? document.components?.[match[1]!]?.[match[2]!] : undefined;
    if (target === undefined) throw new Error(`The description refers to ${ref}, which it lacks`);
    return inlineRefs(document, target);
  }
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, inlineRefs(document, item)]));
};

interface Operation {
  readonly method: string;
  readonly path: string;
  readonly pattern: RegExp;
  readonly responses: Json;
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export const createResponseChecker = (document: Json = buildOpenApiDocument()) => {
  // formats are not checked: every `format` here stands beside a `pattern` that says the same, strictly
  const ajv = new Ajv2020({ strict: true, allErrors: true, validateFormats: false });
  const validators = new Map<object, ValidateFunction>();
  const validatorOf = (schema: object): ValidateFunction => {
    let validate = validators.get(schema);
    if (!validate) {
      validate = ajv.compile(schema);
      validators.set(schema, validate);
    }
    return validate;
  };

  const operations: Operation[] = Object.entries(document.paths as Json).flatMap(([path, item]) =>
    Object.entries(item as Json).map(([method, operation]) => ({
      method: method.toUpperCase(),
      path,
      pattern: new RegExp(`^${path.split(/\{[^}]+\}/).map(escapeRegExp).join('[^/]+')}$`),
      responses: inlineRefs(document, (operation as Json).responses),
    })),
  );
  const routeNotFound = inlineRefs(document, document.components.responses[ROUTE_NOT_FOUND]);

  const checkBody = (where: string, response: Json, answer: CheckedAnswer): void => {
    const schema = response.content?.['application/json']?.schema;
    if (!schema) throw new ResponseMismatchError(`${where}: the description gives no JSON body for it`);
    const contentType = answer.headers.get('content-type') ?? '';
    if (!/^application\/json\b/.test(contentType)) {
      throw new ResponseMismatchError(`${where}: content-type is '${contentType}', not application/json`);
    }
    let body: unknown;
    try {
      body = JSON.parse(answer.text);
    } catch {
      throw new ResponseMismatchError(`${where}: the body is not JSON: ${answer.text.slice(0, 200)}`);
    }
    const validate = validatorOf(schema);
    if (!validate(body)) {
      const errors = (validate.errors ?? []).map((e) => `${e.instancePath || '(body)'} ${e.message} ${JSON.stringify(e.params)}`);
      throw new ResponseMismatchError(
        `${where}: the body does not match its schema:\n  ${errors.slice(0, 10).join('\n  ')}\nbody: ${answer.text.slice(0, 500)}`,
      );
    }
  };

  /** Throws ResponseMismatchError when the answer is not one the description gives. */
  return (method: string, url: string, answer: CheckedAnswer): void => {
    const path = new URL(url, 'http://localhost').pathname;
    const upper = method.toUpperCase();
    const operation = operations.find((op) => op.method === upper && op.pattern.test(path));
    if (!operation) {
      const where = `${upper} ${path} (no operation of the description) answered ${answer.status}`;
      if (answer.status !== 404) throw new ResponseMismatchError(`${where}: a path the description lacks must answer 404 ${ROUTE_NOT_FOUND}`);
      checkBody(where, routeNotFound, answer);
      return;
    }
    const where = `${upper} ${path} (${operation.method} ${operation.path}) answered ${answer.status}`;
    const response = operation.responses[String(answer.status)];
    if (!response) {
      throw new ResponseMismatchError(`${where}: the description lists only ${Object.keys(operation.responses).join(', ')}`);
    }
    if (answer.headers.has('x-next-cursor') && !response.headers?.['X-Next-Cursor']) {
      throw new ResponseMismatchError(`${where}: X-Next-Cursor is not described for it`);
    }
    checkBody(where, response, answer);
  };
};

export type ResponseChecker = ReturnType<typeof createResponseChecker>;
