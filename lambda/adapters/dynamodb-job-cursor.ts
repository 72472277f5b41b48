import { createHash } from 'node:crypto';
import { ValidationError } from '../core/errors';
import { orderKey } from './dynamodb-job-item';
import { sortKeyRange, type IndexRange, type Listing } from './dynamodb-job-index';

/** Where a page ended: the last job it took, as that job's id and the negated time of its sort key. */
export interface CursorKey {
  readonly id: string;
  readonly at: number;
}

const CURSOR_VERSION = 1;
const BAD_CURSOR = 'cursor is not valid: pass the X-Next-Cursor value of the previous page unchanged, with the same filters';

/**
 * What a cursor is bound to: the index, its partitions (the listing and the
 * name filter), the state and the other filters. A cursor carries this
 * digest, so one reused with other filters is refused rather than read as a
 * position in a query it was never part of. No secret is needed: a forger
 * who computes the digest can only name a well-formed position of this very
 * query, which {@link decodeCursor} checks in full.
 */
export const queryDigest = ({ index, prefix, state }: Listing, { since, until, error, name }: IndexRange): string =>
  createHash('sha256')
    .update(JSON.stringify([index.name, prefix, state, since ?? null, until ?? null, error ?? null, ...(name !== undefined ? [name] : [])]))
    .digest('base64url')
    .slice(0, 16);

export const encodeCursor = (digest: string, key: CursorKey): string =>
  Buffer.from(JSON.stringify({ v: CURSOR_VERSION, q: digest, id: key.id, at: key.at })).toString('base64url');

const CURSOR_TEXT = /^[A-Za-z0-9_-]{1,1024}$/;
/** Any id a stored job may have: JOB_ID_PATTERN refuses ids of dots alone for new jobs, not for stored ones. */
const STORED_JOB_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * A cursor, checked in full: its version, its query digest, a job id as
 * stored and a whole-number time within the query's range, in the one
 * spelling encodeCursor gives. The sort key every shard resumes after is
 * rebuilt from these, never taken from the caller.
 */
export const decodeCursor = (cursor: string, listing: Listing, range: IndexRange): string => {
  if (!CURSOR_TEXT.test(cursor)) throw new ValidationError(BAD_CURSOR);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new ValidationError(BAD_CURSOR);
  }
  const k = parsed as Record<string, unknown>;
  const digest = queryDigest(listing, range);
  const [low, high] = sortKeyRange(range);
  const valid =
    typeof k === 'object' &&
    k !== null &&
    !Array.isArray(k) &&
    k.v === CURSOR_VERSION &&
    k.q === digest &&
    typeof k.id === 'string' &&
    STORED_JOB_ID.test(k.id) &&
    Number.isSafeInteger(k.at) &&
    (k.at as number) >= low &&
    (k.at as number) <= high &&
    encodeCursor(digest, { id: k.id, at: k.at as number }) === cursor;
  if (!valid) throw new ValidationError(BAD_CURSOR);
  return orderKey(k.at as number, k.id as string);
};
