import * as errors from '../../lambda/core/errors';
import { DependencyUnavailableError, JobNotFoundError, RequeueError, ValidationError } from '../../lambda/core/errors';
import { httpHandler, httpStatusOf } from '../../lambda/handlers/http';
import { ROUTES } from '../../lambda/routes';
import { httpApiEvent, readResult } from '../support/api-gateway-events';

type ErrorClass = abstract new (...args: never[]) => RequeueError;

/** Every domain error class errors.ts exports. */
const domainErrorClasses = Object.entries(errors as Record<string, unknown>).filter(
  (entry): entry is [string, ErrorClass] => typeof entry[1] === 'function' && entry[1].prototype instanceof RequeueError,
);

/** An instance of `type` without calling its constructor: only its class matters to the table. */
const instanceOf = (type: ErrorClass): RequeueError => Object.create(type.prototype) as RequeueError;

const route = ROUTES.find((r) => r.handler === 'get-job')!;
const answer = async (thrown: unknown) => {
  const handler = httpHandler(async () => {
    throw thrown;
  });
  return readResult('http (2.0)', await handler(httpApiEvent(route, { path: '/jobs/details/j1' })));
};

describe('the HTTP status of each domain error', () => {
  it('is known for every RequeueError class the domain has', () => {
    expect(domainErrorClasses.length).toBeGreaterThan(10);
    const unmapped = domainErrorClasses.filter(([, type]) => httpStatusOf(instanceOf(type)) === undefined).map(([name]) => name);
    expect(unmapped).toEqual([]);
  });

  it('is the one the HTTP contract names', () => {
    const statuses = Object.fromEntries(domainErrorClasses.map(([name, type]) => [name, httpStatusOf(instanceOf(type))]));
    expect(statuses).toEqual({
      ValidationError: 400,
      InvalidJsonError: 400,
      JobNotFailedError: 400,
      JobActiveError: 400,
      JobNotDelayedError: 400,
      TaskNotRunningError: 400,
      JobNotFoundError: 404,
      TaskNotFoundError: 404,
      RecountNotFoundError: 404,
      DuplicateJobError: 409,
      JobChangedError: 409,
      WorkerSwitchBusyError: 409,
      PayloadTooLargeError: 413,
      DependencyUnavailableError: 503,
    });
  });
});

describe('httpHandler: what a client is told of an error', () => {
  it('shows a 4xx domain error as it is, with its code', async () => {
    expect(await answer(new JobNotFoundError('j1'))).toEqual({
      status: 404,
      headers: { 'content-type': 'application/json' },
      body: { error: 'Job j1 not found', code: 'JOB_NOT_FOUND' },
    });
    expect((await answer(new ValidationError('limit must be 1 or more'))).body).toEqual({
      error: 'limit must be 1 or more',
      code: 'VALIDATION_ERROR',
    });
  });

  it('shows an unavailable dependency as a 503 with its message', async () => {
    const result = await answer(new DependencyUnavailableError('The job queue is unavailable right now'));
    expect({ status: result.status, body: result.body }).toEqual({
      status: 503,
      body: { error: 'The job queue is unavailable right now', code: 'DEPENDENCY_UNAVAILABLE' },
    });
  });

  it('answers any other error with a generic 500 that tells nothing of it', async () => {
    const result = await answer(new Error('table requeue-jobs: secret detail'));
    expect({ status: result.status, body: result.body }).toEqual({
      status: 500,
      body: { error: 'Internal server error', code: 'INTERNAL_ERROR' },
    });
  });
});
