/** Bounds on what a caller may ask for. Shared by validation, the worker and the stack. */
export const LIMITS = {
  maxAttempts: 100,
  defaultAttempts: 3,
  /** SQS hides a message for at most 12 hours; a longer backoff would need re-hiding. */
  maxBackoffDelayMs: 12 * 60 * 60 * 1000,
  maxDelayMs: 7 * 24 * 60 * 60 * 1000,
  /** A Lambda function runs at most 15 minutes. */
  maxTimeoutMs: 15 * 60 * 1000,
  maxDataBytes: 256 * 1024,
  defaultListLimit: 50,
  maxListLimit: 1000,
} as const;

/** Job names and ids: 1–128 of these characters. */
export const NAME_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
/** Not dots alone: a URL rewrites `/jobs/details/..` to `/jobs/`, so such a job could never be named in a path. */
export const JOB_ID_PATTERN = /^(?!\.+$)[A-Za-z0-9._:-]{1,128}$/;
