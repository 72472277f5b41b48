import {
  DependencyUnavailableError,
  DuplicateJobError,
  InvalidJsonError,
  JobActiveError,
  JobChangedError,
  JobNotDelayedError,
  JobNotFailedError,
  JobNotFoundError,
  PayloadTooLargeError,
  RecountNotFoundError,
  RequeueError,
  TaskNotFoundError,
  TaskNotRunningError,
  ValidationError,
  WorkerSwitchBusyError,
} from '../core/errors';
import { checkJsonText } from '../core/json-text';
import { LIMITS } from '../core/limits';
import type { ResponseBody, taskStartedSchema } from '../core/api-schemas';
import { LIMIT_MESSAGE, limitSchema, noOptionsBodySchema, PATH_PARAMETERS } from '../core/request-parameters';
import {
  toHttpRequest,
  toResult,
  UnknownEventError,
  type ApiGatewayEvent,
  type ApiGatewayResult,
  type HttpRequest,
  type HttpResponse,
} from './http-request';
import { logger } from './logger';

export type { Actor, HttpRequest, HttpResponse } from './http-request';

export const json = (statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResponse => ({
  statusCode,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

/** 202 for a bulk operation started as a background task: `doing` is its verb, as `Retrying`. */
export const taskStarted = (doing: string, { id: taskId, total }: { readonly id: string; readonly total: number }): HttpResponse =>
  json(202, {
    message: `${doing} ${total} failed job(s) in the background; follow GET /jobs/retry-tasks/${taskId}`,
    taskId,
    total,
  } satisfies ResponseBody<typeof taskStartedSchema>);

type RequeueErrorClass = abstract new (...args: never[]) => RequeueError;

/**
 * The one place a domain error becomes an HTTP status, as middy's
 * http-error-handler maps errors: the domain says what went wrong, this
 * table what a client is told. A RequeueError missing here is answered as
 * any bug is, with a generic 500.
 */
const HTTP_STATUS: readonly (readonly [RequeueErrorClass, number])[] = [
  [ValidationError, 400],
  [InvalidJsonError, 400],
  [JobNotFailedError, 400],
  [JobActiveError, 400],
  [JobNotDelayedError, 400],
  [TaskNotRunningError, 400],
  [JobNotFoundError, 404],
  [TaskNotFoundError, 404],
  [RecountNotFoundError, 404],
  [DuplicateJobError, 409],
  [JobChangedError, 409],
  [WorkerSwitchBusyError, 409],
  [PayloadTooLargeError, 413],
  [DependencyUnavailableError, 503],
];

/** The status a client sees for `error`; undefined for an error the table does not know. */
export const httpStatusOf = (error: RequeueError): number | undefined => HTTP_STATUS.find(([type]) => error instanceof type)?.[1];

/** What a client is told of a domain error the table maps; undefined for any other error. */
const domainErrorResponse = (error: unknown): HttpResponse | undefined => {
  if (!(error instanceof RequeueError)) return undefined;
  const status = httpStatusOf(error);
  if (status === undefined) return undefined;
  if (status >= 500) logger.error(error.message, { error });
  return json(status, { error: error.message, code: error.code });
};

/**
 * One rule for what a client sees: a domain error the table maps (4xx, or
 * the 503 of an unavailable dependency) is shown as it is; anything else is
 * a bug, logged in full and answered with a generic 500. The event may come
 * in payload format 1.0 (a REST API) or 2.0 (an HTTP API); `fn` sees one
 * request either way.
 */
export const httpHandler =
  (fn: (request: HttpRequest) => Promise<HttpResponse>) =>
  async (event: ApiGatewayEvent): Promise<ApiGatewayResult> => {
    let request: HttpRequest | undefined;
    try {
      request = toHttpRequest(event);
      return toResult(await fn(request));
    } catch (error) {
      const answer = domainErrorResponse(error);
      if (answer) return toResult(answer);
      if (error instanceof UnknownEventError) logger.error(error.message, { eventKeys: Object.keys(event ?? {}) });
      else logger.error('Unhandled error', { error: error as Error, routeKey: request?.routeKey, actor: request?.actor });
      return toResult(json(500, { error: 'Internal server error', code: 'INTERNAL_ERROR' }));
    }
  };

/**
 * Who sent the request, as API Gateway's authorizer names them (the IAM
 * principal's ARN, or the JWT's subject). The local runtime has no
 * authorizer: `local`.
 */
export const callerOf = (request: HttpRequest): string => request.actor?.id || 'local';

export const parseJsonBody = (request: HttpRequest): unknown => {
  const text = request.body;
  if (text === undefined) throw new ValidationError('The request body is empty; send a JSON object');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new InvalidJsonError(`The request body is not valid JSON: ${(error as Error).message}`);
  }
  checkJsonText(text);
  return body;
};

/** For a route that takes no options: no body, or an empty JSON object (what some clients send by default). */
export const assertNoOptions = (request: HttpRequest): void => {
  if (request.body === undefined) return;
  const body = parseJsonBody(request);
  if (!noOptionsBodySchema.safeParse(body).success) {
    throw new ValidationError(`${request.routeKey} takes no options: send no body, or {}`);
  }
};

export const jobIdParam = (request: HttpRequest): string => {
  const jobId = request.pathParameters.jobId ?? '';
  if (!PATH_PARAMETERS.jobId.safeParse(jobId).success) {
    throw new ValidationError('The job id in the path must be 1-128 characters from A-Za-z0-9._:-, not dots alone');
  }
  return jobId;
};

export const taskIdParam = (request: HttpRequest): string => {
  const taskId = request.pathParameters.taskId ?? '';
  if (!PATH_PARAMETERS.taskId.safeParse(taskId).success) {
    throw new ValidationError('The task id in the path must be the taskId a retry-all answered with');
  }
  return taskId;
};

/**
 * The query string's parameters. No parameter here takes two values, and
 * payload 2.0 would hand the handler a repeated key's values joined with
 * commas (`a=1&a=2` → `'1,2'`), a value the caller never wrote: a key given
 * twice is refused instead, in either format.
 */
export const queryParams = (request: HttpRequest): Record<string, string> => {
  const params: Record<string, string> = {};
  for (const [name, values] of Object.entries(request.query)) {
    if (values.length > 1) throw new ValidationError(`The query parameter ${name} is given more than once; give it once`);
    params[name] = values[0] ?? '';
  }
  return params;
};

export const limitParam = (query: Record<string, string>): number => {
  const raw = query.limit;
  if (raw === undefined) return LIMITS.defaultListLimit;
  if (!limitSchema.safeParse(raw).success) throw new ValidationError(`${LIMIT_MESSAGE}, got '${raw}'`);
  return Number(raw);
};
