import { marshall } from '@aws-sdk/util-dynamodb';
import { toItem } from '../../lambda/adapters/dynamodb-job-item';
import { processJobMessage } from '../../lambda/core/process-job-message';
import { memoryWorker } from '../support/memory-worker';

/** Run one job through the worker core with `processor`, on a job allowed several attempts. */
const runOnce = async (processor: () => Promise<unknown>) => {
  const calls = jest.fn(processor);
  const { store, deps, enqueue } = memoryWorker(calls);
  const job = await enqueue({ attempts: 3 });
  await processJobMessage(deps, JSON.stringify({ jobId: job.id, generation: 0 }));
  return { job: (await store.get(job.id))!, calls };
};

const revokedProxy = () => {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
};

const errorWith = (property: 'message' | 'stack') => {
  const error = new Error('hidden');
  Object.defineProperty(error, property, {
    get() {
      throw new Error(`no ${property} for you`);
    },
  });
  return error;
};

const circular = () => {
  const value: Record<string, unknown> = { a: 1 };
  value.self = value;
  return value;
};

const REVOKED = /^The processor threw a value that cannot be read \(TypeError: Cannot perform '.+' on a proxy that has been revoked\), not an Error$/;

describe('what a processor throws is recorded on its first execution, with a string error', () => {
  it.each<[string, () => unknown, string | RegExp]>([
    ['a string', () => 'card declined', 'card declined'],
    ['an empty string', () => '', 'The processor threw an empty string'],
    ['undefined', () => undefined, 'The processor threw undefined, not an Error'],
    ['null', () => null, 'The processor threw null, not an Error'],
    ['a number', () => 42, 'The processor threw 42, not an Error'],
    ['a BigInt', () => 10n, 'The processor threw 10n, not an Error'],
    ['a Symbol', () => Symbol('nope'), 'The processor threw Symbol(nope), not an Error'],
    ['a plain object', () => ({ code: 'E_CARD' }), 'The processor threw {"code":"E_CARD"}, not an Error'],
    ['an object without prototype', () => Object.assign(Object.create(null), { code: 'E1' }), 'The processor threw {"code":"E1"}, not an Error'],
    ['an empty object without prototype', () => Object.create(null), 'The processor threw an object with no fields, not an Error'],
    [
      'an object whose toString throws',
      () => ({ toString: () => { throw new Error('x'); }, toJSON: () => { throw new Error('no JSON either'); } }),
      'The processor threw a value that cannot be read (Error: no JSON either), not an Error',
    ],
    ['a revoked Proxy', revokedProxy, REVOKED],
    ['an Error whose message getter throws', () => errorWith('message'), 'Error whose message could not be read: Error: no message for you'],
    ['an Error whose stack getter throws', () => errorWith('stack'), 'hidden'],
    ['an Error with no message', () => new TypeError(''), 'TypeError with no message'],
    ['an Error whose message is not a string', () => Object.assign(new Error(), { message: { why: 1 } }), 'Error whose message is not a string: {"why":1}'],
    ['an error-like object from elsewhere', () => ({ name: 'RemoteError', message: 'far away', stack: 'at far' }), 'far away'],
  ])('%s', async (_, thrown, expected) => {
    const { job, calls } = await runOnce(async () => {
      throw thrown();
    });
    expect(calls).toHaveBeenCalledTimes(1);
    expect(job.state).toBe('delayed');
    expect(typeof job.error).toBe('string');
    expect(job.error).toEqual(typeof expected === 'string' ? expected : expect.stringMatching(expected));
    expect(job.history).toEqual([expect.objectContaining({ attempt: 1, outcome: 'failed', error: job.error })]);
    expect(job.stacktrace === undefined || typeof job.stacktrace === 'string').toBe(true);
    // and the job as recorded can be written to DynamoDB
    expect(() => marshall(toItem(job, 0), { removeUndefinedValues: true })).not.toThrow();
  });
});

describe('what a processor returns is recorded on its first execution, as a completion', () => {
  it.each<[string, () => unknown, unknown]>([
    ['undefined', () => undefined, null],
    ['null', () => null, null],
    ['a string', () => 'done', 'done'],
    ['an object without prototype', () => Object.assign(Object.create(null), { sent: true }), { sent: true }],
    ['a BigInt', () => 10n, { notStored: 'returnValue not stored: it could not be serialised as JSON: TypeError: Do not know how to serialize a BigInt' }],
    [
      'a circular object',
      circular,
      { notStored: expect.stringMatching(/^returnValue not stored: it could not be serialised as JSON: TypeError: Converting circular structure to JSON/) },
    ],
    [
      'an object whose toJSON throws',
      () => ({ toJSON: () => { throw new Error('not today'); } }),
      { notStored: 'returnValue not stored: it could not be serialised as JSON: Error: not today' },
    ],
    [
      'an object whose getter throws',
      () => ({ get total() { throw new RangeError('no total'); } }),
      { notStored: 'returnValue not stored: it could not be serialised as JSON: RangeError: no total' },
    ],
    ['a function', () => () => 1, { notStored: 'returnValue not stored: a function has no JSON form' }],
    ['a Symbol', () => Symbol('s'), { notStored: 'returnValue not stored: a symbol has no JSON form' }],
  ])('%s', async (_, returned, stored) => {
    const { job, calls } = await runOnce(async () => returned());
    expect(calls).toHaveBeenCalledTimes(1);
    expect(job).toMatchObject({ state: 'completed', returnValue: stored });
    expect(job.history).toEqual([expect.objectContaining({ attempt: 1, outcome: 'completed' })]);
    expect(() => marshall(toItem(job, 0), { removeUndefinedValues: true })).not.toThrow();
  });

  // resolving a promise with it reads its `then`, which throws: the processor's promise rejects
  it('a revoked Proxy, as the failure JavaScript makes of it', async () => {
    const { job, calls } = await runOnce(async () => revokedProxy());
    expect(calls).toHaveBeenCalledTimes(1);
    expect(job).toMatchObject({ state: 'delayed', error: "Cannot perform 'get' on a proxy that has been revoked" });
    expect(job.history).toEqual([expect.objectContaining({ attempt: 1, outcome: 'failed' })]);
  });

  it('keeps a plain copy of the result, not the object the processor may still change', async () => {
    const result = { count: 1 };
    const { job } = await runOnce(async () => result);
    result.count = 2;
    expect(job.returnValue).toEqual({ count: 1 });
  });
});
