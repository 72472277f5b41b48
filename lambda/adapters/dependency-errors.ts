import { DependencyUnavailableError } from '../core/errors';

/**
 * Errors of the AWS SDK that mean "the service could not do it now"
 * (throttling, a 5xx, a dropped connection) as opposed to "this request is
 * wrong". The former become DependencyUnavailableError (503 to a caller).
 */
export const isUnavailable = (error: unknown): boolean => {
  if (!(error instanceof Error) || !('$metadata' in error)) return false;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  // no answer at all: refused, reset, timed out
  if (status === undefined) return true;
  if (status >= 500 || status === 429) return true;
  return /Throttl|ProvisionedThroughputExceeded|RequestLimitExceeded|LimitExceeded/.test(error.name);
};

/** Re-throw an SDK error, as DependencyUnavailableError when the service was at fault. */
export const rethrowSdkError = (error: unknown, service: 'DynamoDB' | 'SQS' | 'Lambda'): never => {
  if (isUnavailable(error)) {
    throw new DependencyUnavailableError(`${service} is unavailable right now; nothing was changed, try again shortly`, {
      cause: error,
    });
  }
  throw error;
};
