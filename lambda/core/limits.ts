/**
 * What each part of a job may take of its DynamoDB item, in UTF-8 bytes (as
 * DynamoDB counts them). An item holds at most 400 KB, 409,600 bytes with
 * its attribute names; no transition may take a job past it, whatever it
 * runs into over 100 attempts and any number of retries, or its outcome
 * could not be written and the execution would be lost. The worst case, every
 * part full (test/unit/item-budget.test.ts measures it through `toItem`):
 *
 *   data           163,840   JSON text, refused at enqueue past it
 *   returnValue     65,536   JSON text, replaced by a marker past it
 *   error            4,096   cut
 *   history         59,510   100 entries of at most 595 bytes: an error cut
 *                            to 512 bytes, four numbers, an outcome, names
 *   retries         23,610   100 entries of at most 236 bytes (a task's id,
 *                            who asked, cut to 128 bytes, dataChanged)
 *   errorLower       4,106   the error lower-cased for the error filter, cut
 *                            to the error's budget (failed jobs only)
 *   the rest         1,192   id and name (128 each), opts, times, index keys
 *                            (each sort key holds the id), the stack's name
 *   ─────────────────────────
 *                   321,890   87,710 bytes (21 %) under the limit
 *
 * The stack trace (16,384, cut) is not in the job's item but in one of its
 * own, beside it (16,579 bytes at most), written only when an execution
 * fails: every later write of the job would otherwise pay for it.
 *
 * Data and returnValue take the most, as they are what a job is for; the
 * margin leaves room for a field added later and for numbers DynamoDB sizes
 * a little differently than documented.
 */
export const BUDGETS = {
  dataBytes: 160 * 1024,
  returnValueBytes: 64 * 1024,
  errorBytes: 4 * 1024,
  stackBytes: 16 * 1024,
  /** History and retries keep the newest this many entries (each kind). */
  historyEntries: 100,
  /** The error of one history entry; the job's own `error` keeps more of the last one. */
  historyErrorBytes: 512,
  /** Who asked for a retry (an ARN may run to 2,048 characters): its first bytes name the account and role. */
  actorBytes: 128,
} as const;

/** Bounds on what a caller may ask for. Shared by validation, the worker and the stack. */
export const LIMITS = {
  maxAttempts: 100,
  defaultAttempts: 3,
  /** SQS hides a message for at most 12 hours; a longer backoff would need re-hiding. */
  maxBackoffDelayMs: 12 * 60 * 60 * 1000,
  maxDelayMs: 7 * 24 * 60 * 60 * 1000,
  /** A Lambda function runs at most 15 minutes. */
  maxTimeoutMs: 15 * 60 * 1000,
  /** The data budget (BUDGETS.dataBytes), for validation. */
  maxDataBytes: BUDGETS.dataBytes,
  defaultListLimit: 50,
  maxListLimit: 1000,
} as const;

/** Job names and ids: 1–128 of these characters. */
export const NAME_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
/** Not dots alone: a URL rewrites `/jobs/details/..` to `/jobs/`, so such a job could never be named in a path. */
export const JOB_ID_PATTERN = /^(?!\.+$)[A-Za-z0-9._:-]{1,128}$/;
