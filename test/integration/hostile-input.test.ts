/**
 * Generated requests, valid and hostile, to every route, over HTTP through
 * the API Gateway emulation to the real handlers on dynalite and fauxqs.
 * An oracle of its own (below, written from the README's contract, not from
 * the handlers) says what each request should get: valid input a 2xx; a bad
 * one a 4xx `{error, code}` and no change to any job count. No request may
 * answer 5xx. The worker and the task runner are off, so every count moves
 * only by what a request does, and the oracle tracks them exactly.
 *
 * Seeded: REQUEUE_HOSTILE_SEED reruns a failure, REQUEUE_HOSTILE_RUNS sets
 * the number of requests (default 1,200).
 */
import { request as httpRequest } from 'node:http';
import fc from 'fast-check';
import { LIMITS } from '../../lambda/core/limits';
import { DynamoDbJobStore } from '../../lambda/adapters/dynamodb-job-store';
import { storeFailedJob } from '../support/job-fixtures';
import { startHarness, type Harness } from '../support/requeue-harness';

const SEED = Number(process.env.REQUEUE_HOSTILE_SEED ?? 20261202);
const RUNS = Number(process.env.REQUEUE_HOSTILE_RUNS ?? 1200);

// ---------------------------------------------------------------- the contract, as the oracle reads it

const ID = /^[A-Za-z0-9._:-]{1,128}$/;
const isId = (id: string) => ID.test(id) && !/^\.+$/.test(id);
const isName = (name: unknown): name is string => typeof name === 'string' && ID.test(name);
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const isErrorText = (text: unknown): text is string =>
  typeof text === 'string' && text.length >= 1 && text.length <= 500 && !LONE_SURROGATE.test(text);
const isInt = (value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max;
/** A query-string integer: decimal digits only. */
const queryInt = (text: string, min: number, max?: number): number | undefined =>
  /^[0-9]{1,16}$/.test(text) && isInt(Number(text), min, max) ? Number(text) : undefined;
const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A JSON literal written as is: a number JSON.stringify cannot write, or nesting too deep to build. */
class Raw {
  constructor(
    readonly text: string,
    readonly depth: number,
    readonly keepable: boolean,
  ) {}
}

const toText = (value: unknown): string => {
  if (value instanceof Raw) return value.text;
  if (Array.isArray(value)) return `[${value.map(toText).join(',')}]`;
  if (isPlainObject(value)) return `{${Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => `${JSON.stringify(k)}:${toText(v)}`).join(',')}}`;
  return JSON.stringify(value);
};

/** Levels of arrays and objects. */
const depthOf = (value: unknown): number => {
  if (value instanceof Raw) return value.depth;
  if (Array.isArray(value)) return 1 + Math.max(0, ...value.map(depthOf));
  if (isPlainObject(value)) return 1 + Math.max(0, ...Object.values(value).map(depthOf));
  return 0;
};

/** Every number survives JSON.parse as written: finite, and integers exact. */
const keepable = (value: unknown): boolean => {
  if (value instanceof Raw) return value.keepable;
  if (Array.isArray(value)) return value.every(keepable);
  if (isPlainObject(value)) return Object.values(value).every(keepable);
  if (typeof value === 'number') return /[.eE]/.test(JSON.stringify(value)) || Number.isSafeInteger(value);
  return true;
};

/** What JSON.parse makes of a value: Raw leaves as parsed. */
const parsed = (value: unknown): unknown => (value instanceof Raw ? JSON.parse(value.text) : JSON.parse(toText(value)));

/** A body the handlers may read at all (JSON, not too deep, every number kept), or why not. */
const readableBody = (body: Body): { ok: true; value: unknown } | { ok: false } => {
  if (body.kind === 'text') {
    try {
      return { ok: true, value: JSON.parse(body.text) };
    } catch {
      return { ok: false };
    }
  }
  if (body.kind === 'none') return { ok: false };
  if (depthOf(body.value) > 64 || !keepable(body.value)) return { ok: false };
  return { ok: true, value: parsed(body.value) };
};

type Body = { kind: 'json'; value: unknown } | { kind: 'text'; text: string } | { kind: 'none' };
const bodyText = (body: Body): string | undefined =>
  body.kind === 'none' ? undefined : body.kind === 'text' ? body.text : toText(body.value);

interface JobModel {
  state: 'waiting' | 'delayed' | 'failed';
  name: string;
  error: string;
  failedAt: number;
}

interface Model {
  readonly jobs: Map<string, JobModel>;
  /** RUNNING, or anything else once cancelled. */
  readonly tasks: Map<string, string>;
  /** Cursors issued, and the query digest each listing's cursors carry. */
  readonly cursors: string[];
  readonly digests: Map<string, string>;
}

const counts = (model: Model) => {
  const c = { waiting: 0, active: 0, completed: 0, failed: 0, delayed: 0 };
  for (const job of model.jobs.values()) c[job.state]++;
  return c;
};

/** A query string as API Gateway reads it: `+` is a space, a bad escape stays as written. */
const decode = (text: string): string => {
  const spaced = text.replaceAll('+', ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
};

/** The query's parameters, or undefined when a key repeats. */
const readQuery = (raw: string): Record<string, string> | undefined => {
  const query: Record<string, string> = {};
  for (const pair of raw.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = decode(eq === -1 ? pair : pair.slice(0, eq));
    if (key in query) return undefined;
    query[key] = eq === -1 ? '' : decode(pair.slice(eq + 1));
  }
  return query;
};

interface Filter {
  name?: string;
  since?: number;
  until?: number;
  error?: string;
}
const filterKey = (f: Filter) => JSON.stringify([f.name ?? null, f.since ?? null, f.until ?? null, f.error ?? null]);

const FILTER_KEYS = ['name', 'since', 'until', 'error'];

/** A filter from query-string values, or undefined when one is bad. */
const queryFilter = (query: Record<string, string>): Filter | undefined => {
  const f: Filter = {};
  if ('name' in query) {
    if (!isName(query.name)) return undefined;
    f.name = query.name;
  }
  for (const key of ['since', 'until'] as const) {
    if (!(key in query)) continue;
    const value = queryInt(query[key]!, 0);
    if (value === undefined) return undefined;
    f[key] = value;
  }
  if ('error' in query) {
    if (!isErrorText(query.error)) return undefined;
    f.error = query.error;
  }
  return f;
};

const matches = (job: JobModel, f: Filter) =>
  job.state === 'failed' &&
  (f.name === undefined || job.name === f.name) &&
  (f.since === undefined || job.failedAt >= f.since) &&
  (f.until === undefined || job.failedAt <= f.until) &&
  (f.error === undefined || job.error.toLowerCase().includes(f.error.toLowerCase()));

/** A cursor is good for a listing when it is one requeue would issue for it: same digest, a real position in range. */
const cursorFits = (model: Model, cursor: string, f: Filter): boolean => {
  const digest = model.digests.get(filterKey(f));
  if (digest === undefined || !/^[A-Za-z0-9_-]{1,1024}$/.test(cursor)) return false;
  let c: unknown;
  try {
    c = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return false;
  }
  if (!isPlainObject(c) || Object.keys(c).join() !== 'v,q,id,at') return false;
  if (Buffer.from(JSON.stringify(c)).toString('base64url') !== cursor) return false;
  const low = f.until === undefined ? -Number.MAX_SAFE_INTEGER : -f.until;
  const high = f.since === undefined ? 0 : -f.since;
  // any id a job may have been stored with, dots alone included (older versions took them)
  return c.v === 1 && c.q === digest && typeof c.id === 'string' && ID.test(c.id) && isInt(c.at, low, high);
};

// ---------------------------------------------------------------- requests and their expected answers

interface Req {
  readonly route: string;
  readonly method: string;
  readonly path: string;
  readonly body: Body;
  readonly headers?: Record<string, string>;
}

type Expectation =
  | { ok: false }
  | { ok: true; status: number; apply?: (answer: { body: any; headers: Record<string, string | string[] | undefined> }) => void };

const REJECT: Expectation = { ok: false };

const MAX_BACKOFF = 12 * 60 * 60 * 1000;
const MAX_DELAY = 7 * 24 * 60 * 60 * 1000;
const MAX_TIMEOUT = 15 * 60 * 1000;

const optsValid = (opts: unknown): boolean => {
  if (opts === undefined) return true;
  if (!isPlainObject(opts)) return false;
  if (Object.keys(opts).some((k) => !['attempts', 'backoff', 'delay', 'timeout', 'jobId'].includes(k))) return false;
  const { attempts, backoff, delay, timeout, jobId } = opts;
  if (attempts !== undefined && !isInt(attempts, 1, 100)) return false;
  if (backoff !== undefined) {
    if (!isPlainObject(backoff) || Object.keys(backoff).some((k) => k !== 'type' && k !== 'delay')) return false;
    if (backoff.type !== 'fixed' && backoff.type !== 'exponential') return false;
    if (!isInt(backoff.delay, 0, MAX_BACKOFF)) return false;
  }
  if (delay !== undefined && !isInt(delay, 0, MAX_DELAY)) return false;
  if (timeout !== undefined && !isInt(timeout, 1, MAX_TIMEOUT)) return false;
  if (jobId !== undefined && !(typeof jobId === 'string' && isId(jobId))) return false;
  return true;
};

const expectEnqueue = (model: Model, req: Req): Expectation => {
  const read = readableBody(req.body);
  if (req.body.kind === 'none' || !read.ok) return REJECT;
  const body = read.value;
  if (!isPlainObject(body) || Object.keys(body).some((k) => !['name', 'data', 'opts'].includes(k))) return REJECT;
  if (!isName(body.name) || !optsValid(body.opts)) return REJECT;
  if (body.data !== undefined && Buffer.byteLength(JSON.stringify(body.data)) > LIMITS.maxDataBytes) return REJECT;
  const opts = (body.opts ?? {}) as { jobId?: string; delay?: number };
  if (opts.jobId !== undefined && model.jobs.has(opts.jobId)) return REJECT;
  return {
    ok: true,
    status: 201,
    apply: (answer) => {
      const state = (opts.delay ?? 0) > 0 ? 'delayed' : 'waiting';
      expect(answer.body).toEqual({ id: opts.jobId ?? expect.any(String), name: body.name, state });
      model.jobs.set(answer.body.id, { state, name: body.name as string, error: '', failedAt: 0 });
    },
  };
};

const LIST_KEYS = [...FILTER_KEYS, 'limit', 'cursor'];

const expectList = (model: Model, req: Req): Expectation => {
  const query = readQuery(req.path.split('?')[1] ?? '');
  if (!query || Object.keys(query).some((k) => !LIST_KEYS.includes(k))) return REJECT;
  const f = queryFilter(query);
  if (!f || (f.since !== undefined && f.until !== undefined && f.since > f.until)) return REJECT;
  const limit = query.limit === undefined ? 50 : queryInt(query.limit, 1, 1000);
  if (limit === undefined) return REJECT;
  if (query.cursor !== undefined && !cursorFits(model, query.cursor, f)) return REJECT;
  return {
    ok: true,
    status: 200,
    apply: (answer) => {
      expect(Array.isArray(answer.body)).toBe(true);
      expect(answer.body.length).toBeLessThanOrEqual(limit);
      for (const job of answer.body) expect(matches(model.jobs.get(job.id)!, f)).toBe(true);
      if (query.cursor === undefined) {
        const all = [...model.jobs.entries()].filter(([, j]) => matches(j, f)).sort(([, a], [, b]) => b.failedAt - a.failedAt);
        expect(answer.body.map((j: { id: string }) => j.id)).toEqual(all.slice(0, limit).map(([id]) => id));
      }
      const next = answer.headers['x-next-cursor'];
      if (typeof next === 'string') {
        model.cursors.push(next);
        model.digests.set(filterKey(f), JSON.parse(Buffer.from(next, 'base64url').toString('utf8')).q);
      }
    },
  };
};

/** The path parameter as the handler gets it, decoded. */
const param = (segment: string) => {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
};

const expectDetails = (model: Model, req: Req): Expectation => {
  const id = param(req.path.slice('/jobs/details/'.length));
  if (!isId(id) || !model.jobs.has(id)) return REJECT;
  return { ok: true, status: 200, apply: (answer) => expect(answer.body).toMatchObject({ id, state: model.jobs.get(id)!.state }) };
};

const expectRetry = (model: Model, req: Req): Expectation => {
  const id = param(req.path.slice('/jobs/retry/'.length));
  const job = isId(id) ? model.jobs.get(id) : undefined;
  if (job?.state !== 'failed') return REJECT;
  return {
    ok: true,
    status: 200,
    apply: (answer) => {
      expect(answer.body).toEqual({ message: `Job '${id}' has been queued for retry`, jobId: id });
      job.state = 'waiting';
    },
  };
};

const RETRY_ALL_KEYS = [...FILTER_KEYS, 'limit', 'dryRun', 'async', 'maxPerSecond'];

const expectRetryAll = (model: Model, req: Req): Expectation => {
  const query = readQuery(req.path.split('?')[1] ?? '');
  if (!query || Object.keys(query).some((k) => !RETRY_ALL_KEYS.includes(k))) return REJECT;
  const f = queryFilter(query);
  if (!f) return REJECT;
  const options: { limit?: number; dryRun?: boolean; async?: boolean } = {};
  if (query.limit !== undefined && (options.limit = queryInt(query.limit, 1)) === undefined) return REJECT;
  if (query.maxPerSecond !== undefined && queryInt(query.maxPerSecond, 1, 10_000) === undefined) return REJECT;
  for (const flag of ['dryRun', 'async'] as const) {
    if (query[flag] === undefined) continue;
    if (query[flag] !== 'true' && query[flag] !== 'false') return REJECT;
    options[flag] = query[flag] === 'true';
  }
  const text = bodyText(req.body);
  if (text !== undefined && text !== '') {
    const read = readableBody(req.body);
    if (!read.ok || !isPlainObject(read.value)) return REJECT;
    const body = read.value;
    if (Object.keys(body).some((k) => !RETRY_ALL_KEYS.includes(k))) return REJECT;
    if (body.name !== undefined && !isName(body.name)) return REJECT;
    if (body.since !== undefined && !isInt(body.since, 0)) return REJECT;
    if (body.until !== undefined && !isInt(body.until, 0)) return REJECT;
    if (body.error !== undefined && !isErrorText(body.error)) return REJECT;
    if (body.limit !== undefined && !isInt(body.limit, 1)) return REJECT;
    if (body.maxPerSecond !== undefined && !isInt(body.maxPerSecond, 1, 10_000)) return REJECT;
    if (body.dryRun !== undefined && typeof body.dryRun !== 'boolean') return REJECT;
    if (body.async !== undefined && typeof body.async !== 'boolean') return REJECT;
    for (const key of FILTER_KEYS) if (body[key] !== undefined) (f as Record<string, unknown>)[key] = body[key];
    for (const key of ['limit', 'dryRun', 'async'] as const) if (body[key] !== undefined) (options as Record<string, unknown>)[key] = body[key];
  }
  if (f.since !== undefined && f.until !== undefined && f.since > f.until) return REJECT;
  const matching = [...model.jobs.entries()].filter(([, j]) => matches(j, f)).sort(([, a], [, b]) => b.failedAt - a.failedAt);
  const taken = matching.slice(0, options.limit ?? matching.length);
  if (options.dryRun) {
    return { ok: true, status: 200, apply: (answer) => expect(answer.body).toMatchObject({ dryRun: true, total: taken.length }) };
  }
  if (options.async) {
    return {
      ok: true,
      status: 202,
      apply: (answer) => {
        expect(answer.body).toMatchObject({ taskId: expect.any(String), total: taken.length });
        model.tasks.set(answer.body.taskId, 'RUNNING');
      },
    };
  }
  return {
    ok: true,
    status: 200,
    apply: (answer) => {
      expect(answer.body).toEqual({ message: 'Retry operation complete', retriedCount: taken.length, failedCount: 0, total: taken.length });
      for (const [, job] of taken) job.state = 'waiting';
    },
  };
};

const expectTask = (model: Model, req: Req, cancel: boolean): Expectation => {
  const id = param(req.path.slice('/jobs/retry-tasks/'.length).replace(/\/cancel$/, ''));
  const status = isId(id) ? model.tasks.get(id) : undefined;
  if (status === undefined || (cancel && status !== 'RUNNING')) return REJECT;
  return {
    ok: true,
    status: 200,
    apply: (answer) => {
      expect(answer.body).toMatchObject({ taskId: id });
      if (cancel) model.tasks.set(id, answer.body.status);
    },
  };
};

const expectation = (model: Model, req: Req): Expectation => {
  switch (req.route) {
    case 'enqueue':
      return expectEnqueue(model, req);
    case 'list':
      return expectList(model, req);
    case 'details':
      return expectDetails(model, req);
    case 'retry':
      return expectRetry(model, req);
    case 'retry-all':
      return expectRetryAll(model, req);
    case 'task':
      return expectTask(model, req, false);
    case 'cancel':
      return expectTask(model, req, true);
    case 'metrics':
      return { ok: true, status: 200 };
    default:
      // no such route, or a request no route may take (too large a head)
      return REJECT;
  }
};

// ---------------------------------------------------------------- generators

const HOSTILE_TEXT = ['', ' ', '0x10', '1e3', ' 100 ', '+5', '-1', '1.5', 'true', 'false', '[2]', 'null', 'NaN', 'Infinity', '١٢', '１', '00', '0', '1', '2', '50', '1000', '1001', '9007199254740993', '99999999999999999999', '%zz', '%ED%A0%80', '..', '.', 'a,b', '💥', 'x'.repeat(501)];
const HOSTILE_VALUES: unknown[] = [
  null, true, false, 0, -1, 1.5, 2 ** 53, '', '7', '0x10', [2], {}, { a: 1 },
  new Raw('1e400', 0, false), new Raw('-1e400', 0, false), new Raw('12345678901234567890', 0, false), new Raw('1E2', 0, true), new Raw('-0', 0, true),
];

const text = fc.oneof(fc.constantFrom(...HOSTILE_TEXT), fc.string({ maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 6 }));
const intText = fc.oneof(fc.integer({ min: -5, max: 2_000 }).map(String), fc.constantFrom(...HOSTILE_TEXT));
const anyValue: fc.Arbitrary<unknown> = fc.oneof(fc.constantFrom(...HOSTILE_VALUES), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string({ maxLength: 8 }));
const nested = (depth: number) => new Raw('['.repeat(depth) + ']'.repeat(depth), depth, true);
/** Data: mostly small JSON, sometimes too deep, holding a number JSON cannot keep, or over the size budget. */
const data: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 12, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 3000 }).map(nested) },
  { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_VALUES).map((v) => ({ deep: [v] })) },
  { weight: 1, arbitrary: fc.constant('x'.repeat(LIMITS.maxDataBytes + 1000)) },
);

/** Mostly `valid`, now and then `hostile`: enough valid requests to move the counts, enough bad ones to try each check. */
const mostly = <T, U>(valid: fc.Arbitrary<T>, hostile: fc.Arbitrary<U>) =>
  fc.oneof({ weight: 6, arbitrary: valid }, { weight: 1, arbitrary: hostile });

const NAMES = ['email.send', 'demo.flaky', 'report:build'];
const name = mostly(fc.constantFrom(...NAMES), fc.oneof(anyValue, text));
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 2 });

const opts = mostly(
  fc.record(
    {
      attempts: mostly(fc.integer({ min: 1, max: 100 }), fc.oneof(fc.constantFrom(0, 101), anyValue)),
      backoff: mostly(
        fc.record({ type: fc.constantFrom('fixed', 'exponential'), delay: fc.integer({ min: 0, max: MAX_BACKOFF }) }),
        fc.oneof(fc.record({ type: fc.constantFrom('linear', 'fixed'), delay: fc.oneof(fc.constantFrom(-1, MAX_BACKOFF + 1), anyValue) }), anyValue),
      ),
      delay: mostly(fc.constantFrom(0, 0, 0, 1000), fc.oneof(fc.constantFrom(-1, MAX_DELAY + 1), anyValue)),
      timeout: mostly(fc.integer({ min: 1, max: MAX_TIMEOUT }), fc.oneof(fc.constantFrom(0, MAX_TIMEOUT + 1), anyValue)),
      jobId: mostly(fc.uuid(), fc.oneof(fc.constantFrom('.', '..', '...', 'a/b', 'a b', 'x'.repeat(129), 'seed-00', 'seed-01'), anyValue)),
    },
    { requiredKeys: [] },
  ),
  fc.oneof(anyValue, fc.record({ retries: anyValue, attempts: fc.constant(1) })),
);

const enqueueBody: fc.Arbitrary<Body> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ name, data: maybe(data), opts: maybe(opts) }, { requiredKeys: ['name'] }).map((value) => ({ kind: 'json' as const, value })) },
  { weight: 1, arbitrary: fc.record({ name, extra: anyValue }).map((value) => ({ kind: 'json' as const, value })) },
  { weight: 1, arbitrary: anyValue.map((value) => ({ kind: 'json' as const, value })) },
  { weight: 1, arbitrary: fc.constantFrom('{"name": "a",', '', ' ', 'null', '{"name":"a"}{}', '\u0000', '{"name": "a", "name": 7}').map((t) => ({ kind: 'text' as const, text: t })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) },
);

/** `key=value` pairs; a value from valid and hostile pools, a repeat or an unknown key now and then. */
const queryString = (pairs: fc.Arbitrary<[string, string]>) =>
  fc.array(pairs, { maxLength: 4 }).map((list) =>
    list.map(([k, v]) => `${k}=${safeEncode(v)}`).join('&'),
  );
const safeEncode = (value: string) => {
  try {
    return encodeURIComponent(value);
  } catch {
    return value; // a lone surrogate: sent as it is, a bad escape for the decoder
  }
};

const T = 1_700_000_000_000;
const timeText = fc.oneof(fc.integer({ min: T - 5_000, max: T + 50_000 }).map(String), intText);
const errorText = fc.oneof(fc.constantFrom('ECONNRESET', 'econnreset', 'Card', 'DECLINED', 'time', 'zzz'), text);
const filterPair = fc.oneof(
  fc.tuple(fc.constant('name'), fc.oneof(fc.constantFrom(...NAMES), text)),
  fc.tuple(fc.constant('since'), timeText),
  fc.tuple(fc.constant('until'), timeText),
  fc.tuple(fc.constant('error'), errorText),
);

const forgeCursor = (model: Model) =>
  fc.tuple(fc.nat(), fc.nat(), fc.constantFrom('as-is', 'flip', 'cut', 'append', 'at+1', 'at', 'id', 'old')).map(([pick, pos, how]) => {
    const real = model.cursors[pick % Math.max(1, model.cursors.length)];
    if (real === undefined) return 'none-issued-yet';
    const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const i = pos % real.length;
    const c = JSON.parse(Buffer.from(real, 'base64url').toString('utf8'));
    const recode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    switch (how) {
      case 'as-is':
        return real;
      case 'flip':
        return real.slice(0, i) + chars[(chars.indexOf(real[i]!) + 1 + (pos % 63)) % 64] + real.slice(i + 1);
      case 'cut':
        return real.slice(0, i);
      case 'append':
        return real + chars[pos % 64];
      case 'at+1':
        return recode({ ...c, at: c.at + 1 });
      case 'at':
        return recode({ ...c, at: [1, -1, 0.5, '5', null, -(2 ** 60)][pos % 6] });
      case 'id':
        return recode({ ...c, id: ['..', 'seed-03', 'a b', '', 7][pos % 5] });
      default:
        return recode({ pk: `JOB#${c.id}`, sk: 'JOB', gsi1pk: 'STATE#failed', gsi1sk: c.at });
    }
  });

const listPath = (model: Model) =>
  fc
    .tuple(
      queryString(fc.oneof({ weight: 4, arbitrary: filterPair }, { weight: 2, arbitrary: fc.tuple(fc.constant('limit'), fc.oneof(fc.integer({ min: 1, max: 6 }).map(String), intText)) }, { weight: 1, arbitrary: fc.tuple(fc.constantFrom('nmae', 'offset', 'Limit'), text) })),
      fc.option(forgeCursor(model), { freq: 2 }),
    )
    .map(([q, cursor]) => {
      const parts = [q, cursor === null ? '' : `cursor=${encodeURIComponent(cursor)}`].filter(Boolean);
      return `/jobs/failed${parts.length > 0 ? `?${parts.join('&')}` : ''}`;
    });

const retryAllBody: fc.Arbitrary<Body> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'none' as const }) },
  {
    weight: 4,
    arbitrary: fc
      .record(
        {
          name: mostly(fc.constantFrom(...NAMES), anyValue),
          since: mostly(fc.integer({ min: T - 5_000, max: T + 50_000 }), anyValue),
          until: mostly(fc.integer({ min: T + 10_000, max: T + 80_000 }), anyValue),
          error: mostly(fc.constantFrom('ECONNRESET', 'card', 'Time'), fc.oneof(anyValue, fc.constant('a\uD800'))),
          limit: mostly(fc.integer({ min: 1, max: 4 }), fc.oneof(fc.constant(0), anyValue)),
          dryRun: mostly(fc.boolean(), anyValue),
          async: mostly(fc.boolean(), anyValue),
          maxPerSecond: mostly(fc.integer({ min: 1, max: 10_000 }), fc.oneof(fc.constantFrom(0, 10_001), anyValue)),
          nme: fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: anyValue }),
        },
        { requiredKeys: [] },
      )
      .map((value) => ({ kind: 'json' as const, value })),
  },
  { weight: 1, arbitrary: fc.oneof(anyValue, data).map((value) => ({ kind: 'json' as const, value })) },
  { weight: 1, arbitrary: fc.constantFrom('{', ' ', 'true', '[]').map((t) => ({ kind: 'text' as const, text: t })) },
);

const retryAllPath = queryString(
  fc.oneof(
    { weight: 3, arbitrary: filterPair },
    { weight: 3, arbitrary: fc.tuple(fc.constantFrom('dryRun', 'async'), fc.oneof(fc.constantFrom('true', 'false'), text)) },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom('limit', 'maxPerSecond'), intText) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('cursor', 'nmae'), text) },
  ),
).map((q) => `/jobs/retry-all-failed${q ? `?${q}` : ''}`);

/** A path segment naming a job or task: a known one, a stranger, or one a URL rewrites. */
const idSegment = (known: () => string[]) =>
  fc.oneof(
    { weight: 8, arbitrary: fc.nat().map((i) => { const ids = known(); return ids.length > 0 ? encodeURIComponent(ids[i % ids.length]!) : 'none'; }) },
    { weight: 2, arbitrary: text.map(safeEncode).filter((s) => s !== '' && !s.includes('/')) },
    { weight: 2, arbitrary: fc.constantFrom('.', '..', '...', '%2e', '%2E%2e', '.%2e', 'a%2Fb', '%2F', 'x'.repeat(129), 'a%20b', '%zz', '%ED%A0%80', 'no-such-job', '6f1c2d9e-0000-4000-8000-000000000000') },
  );

const UNROUTED: [string, string][] = [
  ['GET', '/jobs'], ['DELETE', '/jobs'], ['PUT', '/jobs/metrics'], ['GET', '/jobs/'], ['POST', '/jobs/failed'],
  ['GET', '/jobs/details'], ['GET', '/jobs/details/a/b'], ['GET', '/JOBS/metrics'], ['GET', '/jobs/metrics/'],
  ['GET', '//jobs/metrics'], ['POST', '/jobs/retry-tasks/x/cancel/y'], ['GET', '/nowhere'], ['PATCH', '/jobs/retry/a'],
];

const request = (model: Model): fc.Arbitrary<Req> => {
  const jobIds = () => [...model.jobs.keys()];
  const taskIds = () => [...model.tasks.keys()];
  const failedIds = () => [...model.jobs].filter(([, job]) => job.state === 'failed').map(([id]) => id);
  const none: Body = { kind: 'none' };
  return fc.oneof(
    { weight: 5, arbitrary: enqueueBody.map((body) => ({ route: 'enqueue', method: 'POST', path: '/jobs', body })) },
    { weight: 5, arbitrary: listPath(model).map((path) => ({ route: 'list', method: 'GET', path, body: none })) },
    { weight: 2, arbitrary: idSegment(jobIds).map((id) => ({ route: 'details', method: 'GET', path: `/jobs/details/${id}`, body: none })) },
    { weight: 3, arbitrary: fc.oneof(idSegment(failedIds), idSegment(jobIds)).map((id) => ({ route: 'retry', method: 'POST', path: `/jobs/retry/${id}`, body: none })) },
    { weight: 4, arbitrary: fc.tuple(retryAllPath, retryAllBody).map(([path, body]) => ({ route: 'retry-all', method: 'POST', path, body })) },
    { weight: 1, arbitrary: idSegment(taskIds).map((id) => ({ route: 'task', method: 'GET', path: `/jobs/retry-tasks/${id}`, body: none })) },
    { weight: 1, arbitrary: idSegment(taskIds).map((id) => ({ route: 'cancel', method: 'POST', path: `/jobs/retry-tasks/${id}/cancel`, body: none })) },
    { weight: 1, arbitrary: fc.constant({ route: 'metrics', method: 'GET', path: '/jobs/metrics', body: none }) },
    { weight: 1, arbitrary: fc.constantFrom(...UNROUTED).map(([method, path]) => ({ route: 'none', method, path, body: none })) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        { route: 'too-large', method: 'GET', path: `/jobs/failed?error=${'x'.repeat(11_000)}`, body: none },
        { route: 'too-large', method: 'GET', path: '/jobs/metrics', body: none, headers: { 'x-padding': 'y'.repeat(11_000) } },
      ),
    },
  );
};

// ---------------------------------------------------------------- the run

let h: Harness;
let port: number;

/** A request as written: no client-side URL parser resolves its path first. */
const send = (req: Req) =>
  new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }>((resolve, reject) => {
    const body = bodyText(req.body);
    const headers: Record<string, string> = { ...req.headers };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const r = httpRequest({ host: '127.0.0.1', port, method: req.method, path: req.path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    r.on('error', reject);
    r.end(body);
  });

const model: Model = { jobs: new Map(), tasks: new Map(), cursors: [], digests: new Map() };
let store: DynamoDbJobStore;
let seeded = 0;

/** Failed jobs written straight into the table, so retries keep finding some. */
const seedFailed = async (n: number) => {
  for (let i = 0; i < n; i++, seeded++) {
    const id = `seed-${String(seeded).padStart(2, '0')}`;
    const name = NAMES[seeded % 2]!;
    const error = ['ECONNRESET talking to smtp', 'Card Declined', 'Timeout after 30 s'][seeded % 3]!;
    const failedAt = T + seeded * 1000;
    await storeFailedJob(store, { id, name, error, failedAt });
    model.jobs.set(id, { state: 'failed', name, error, failedAt });
  }
  await h.caughtUp();
};

const metrics = async ({ settle = true } = {}) => {
  // the counters follow the table's stream: read them once it has caught up with the requests so far
  if (settle) await h.caughtUp();
  const answer = await send({ route: 'metrics', method: 'GET', path: '/jobs/metrics', body: { kind: 'none' } });
  const { waiting, active, completed, failed, delayed } = JSON.parse(answer.text);
  return { waiting, active, completed, failed, delayed };
};

beforeAll(async () => {
  h = await startHarness();
  port = Number(new URL(h.baseUrl).port);
  store = new DynamoDbJobStore({ tableName: h.tableName, retentionMs: 60_000 });
  await seedFailed(12);
});
afterAll(() => h.stop());

it(`answers ${RUNS} generated requests to every route: 2xx when valid, else a 4xx {error, code} that changes nothing`, async () => {
  process.stdout.write(`hostile-input: seed ${SEED} (REQUEUE_HOSTILE_SEED to rerun), ${RUNS} requests\n`);
  const tally = new Map<string, { ok: number; rejected: number }>();
  await fc.assert(
    fc.asyncProperty(fc.constant(null).chain(() => request(model)), async (req) => {
      if (counts(model).failed < 8) await seedFailed(8);
      const expected = expectation(model, req);
      const answer = await send(req);
      expect(answer.headers['content-type']).toBe('application/json');
      const body = JSON.parse(answer.text);
      expect(answer.status).toBeLessThan(500);
      const row = tally.get(req.route) ?? { ok: 0, rejected: 0 };
      tally.set(req.route, row);
      if (expected.ok) {
        row.ok++;
        expect({ status: answer.status, body }).toMatchObject({ status: expected.status });
        expected.apply?.({ body, headers: answer.headers });
      } else {
        row.rejected++;
        expect(answer.status).toBeGreaterThanOrEqual(400);
        expect(Object.keys(body).sort()).toEqual(['code', 'error']);
        expect(body).toEqual({ error: expect.any(String), code: expect.stringMatching(/^[A-Z_]+$/) });
      }
      // counts as the oracle keeps them: unchanged by a rejected request, moved as it says by a valid one. After a
      // rejected one the stream is not waited for: a change it made anyway shows at the latest after the next valid one
      expect(await metrics({ settle: expected.ok })).toEqual(counts(model));
    }),
    { seed: SEED, numRuns: RUNS, endOnFailure: true },
  );
  const rows = [...tally].map(([route, { ok, rejected }]) => `${route} ${ok} valid / ${rejected} rejected`);
  const total = [...tally.values()].reduce((sum, r) => ({ ok: sum.ok + r.ok, rejected: sum.rejected + r.rejected }), { ok: 0, rejected: 0 });
  process.stdout.write(`hostile-input: ${total.ok} valid, ${total.rejected} rejected; ${rows.join('; ')}\n`);
  expect(total.ok + total.rejected).toBe(RUNS);
  // every route saw both kinds
  for (const route of ['enqueue', 'list', 'details', 'retry', 'retry-all', 'task', 'cancel']) {
    expect(tally.get(route)).toEqual({ ok: expect.any(Number), rejected: expect.any(Number) });
    expect(Math.min(tally.get(route)!.ok, tally.get(route)!.rejected)).toBeGreaterThan(0);
  }
}, 240_000);
