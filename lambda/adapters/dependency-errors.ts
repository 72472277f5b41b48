import { DependencyUnavailableError } from '../core/errors';

/**
 * Errors of the AWS SDK that mean "the service could not do it now"
 * (throttling, a 5xx, a dropped connection) as opposed to "this request is
 * wrong". The former become DependencyUnavailableError (503 to a caller).
 */
export const isUnavailable = (error: unknown): boolean => {
  if (!(error instanceof Error)) return false;
  const meta = error as Error & { $fault?: string; $retryable?: unknown; code?: string };
  if (meta.$fault === 'server' || meta.$retryable) return true;
  if (/Throttl|ProvisionedThroughputExceeded|RequestLimitExceeded|ServiceUnavailable|InternalServerError|InternalFailure|TimeoutError/.test(error.name)) {
    return true;
  }
  return ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN'].includes(meta.code ?? '');
};

/** Re-throw an SDK error, as DependencyUnavailableError when the service was at fault. */
export const rethrowSdkError = (error: unknown, service: 'DynamoDB' | 'SQS'): never => {
  if (isUnavailable(error)) {
    throw new DependencyUnavailableError(`${service} is unavailable right now; nothing was changed, try again shortly`, {
      cause: error,
    });
  }
  throw error;
};
