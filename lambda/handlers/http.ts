import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { z } from 'zod';
import { InvalidJsonError, RequeueError, ValidationError } from '../core/errors';
import { queryInteger } from '../core/failed-job-filter';
import { checkJsonText } from '../core/json-text';
import { JOB_ID_PATTERN, LIMITS } from '../core/limits';
import { services } from '../adapters/services';
import { logger } from './logger';

export type HttpEvent = APIGatewayProxyEventV2;
export type HttpResult = APIGatewayProxyStructuredResultV2;

export const json = (statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResult => ({
  statusCode,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

/**
 * One rule for what a client sees: a RequeueError (4xx, or the 503 of an
 * unavailable dependency) is shown as it is; anything else is a bug, logged
 * in full and answered with a generic 500.
 */
export const httpHandler =
  (fn: (event: HttpEvent) => Promise<HttpResult>) =>
  async (event: HttpEvent): Promise<HttpResult> => {
    try {
      return await fn(event);
    } catch (error) {
      if (error instanceof RequeueError) {
        if (error.statusCode >= 500) logger.error(error.message, { error });
        return json(error.statusCode, { error: error.message, code: error.code });
      }
      logger.error('Unhandled error', { error: error as Error, routeKey: event.routeKey });
      return json(500, { error: 'Internal server error', code: 'INTERNAL_ERROR' });
    } finally {
      // counts of the jobs this request moved
      await services()
        .store.flush()
        .catch((error: unknown) => logger.warn('Could not write job counters', { error: error as Error }));
    }
  };

/**
 * Who sent the request, as API Gateway's authorizer names them: the IAM
 * principal's ARN, or the JWT's subject (payload 2.0, and 1.0 of the REST
 * API). The local runtime has no authorizer: `local`.
 */
export const callerOf = (event: HttpEvent): string => {
  const context = event.requestContext as {
    authorizer?: { iam?: { userArn?: unknown }; jwt?: { claims?: { sub?: unknown } }; claims?: { sub?: unknown } };
    identity?: { userArn?: unknown };
  };
  const candidates = [
    context?.authorizer?.iam?.userArn,
    context?.authorizer?.jwt?.claims?.sub,
    context?.identity?.userArn,
    context?.authorizer?.claims?.sub,
  ];
  const named = candidates.find((value): value is string => typeof value === 'string' && value !== '');
  return named ?? 'local';
};

export const parseJsonBody = (event: HttpEvent): unknown => {
  if (event.body === undefined || event.body === null || event.body === '') {
    throw new ValidationError('The request body is empty; send a JSON object');
  }
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new InvalidJsonError(`The request body is not valid JSON: ${(error as Error).message}`);
  }
  checkJsonText(text);
  return body;
};

export const jobIdParam = (event: HttpEvent): string => {
  const jobId = event.pathParameters?.jobId ?? '';
  if (!JOB_ID_PATTERN.test(jobId)) {
    throw new ValidationError('The job id in the path must be 1-128 characters from A-Za-z0-9._:-, not dots alone');
  }
  return jobId;
};

export const taskIdParam = (event: HttpEvent): string => {
  const taskId = event.pathParameters?.taskId ?? '';
  if (!JOB_ID_PATTERN.test(taskId)) {
    throw new ValidationError('The task id in the path must be the taskId a retry-all answered with');
  }
  return taskId;
};

/**
 * The query string's parameters. API Gateway joins a repeated key's values
 * with commas (`a=1&a=2` → `a: '1,2'`), which no parameter here means: a key
 * given twice is refused instead of read as one value the caller never wrote.
 */
export const queryParams = (event: HttpEvent): Record<string, string> => {
  const raw = event.rawQueryString ?? '';
  const seen = new Set<string>();
  for (const pair of raw.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = eq === -1 ? pair : pair.slice(0, eq);
    let name = key;
    try {
      name = decodeURIComponent(key.replaceAll('+', ' '));
    } catch {
      // left as sent: it still names the parameter in the sentence below
    }
    if (seen.has(name)) throw new ValidationError(`The query parameter ${name} is given more than once; give it once`);
    seen.add(name);
  }
  // payload 1.0 (the REST API) lists a repeated key's values instead
  const multi = (event as { multiValueQueryStringParameters?: Record<string, string[] | undefined> | null })
    .multiValueQueryStringParameters;
  const repeated = Object.entries(multi ?? {}).find(([, values]) => (values?.length ?? 0) > 1);
  if (repeated) throw new ValidationError(`The query parameter ${repeated[0]} is given more than once; give it once`);
  return (event.queryStringParameters ?? {}) as Record<string, string>;
};

const LIMIT_MESSAGE = `limit must be a whole number from 1 to ${LIMITS.maxListLimit}`;
const limitSchema = queryInteger(
  LIMIT_MESSAGE,
  z.int({ error: LIMIT_MESSAGE }).min(1, { error: LIMIT_MESSAGE }).max(LIMITS.maxListLimit, { error: LIMIT_MESSAGE }),
);

export const limitParam = (query: Record<string, string>): number => {
  const raw = query.limit;
  if (raw === undefined) return LIMITS.defaultListLimit;
  if (!limitSchema.safeParse(raw).success) throw new ValidationError(`${LIMIT_MESSAGE}, got '${raw}'`);
  return Number(raw);
};
