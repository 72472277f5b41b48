import { PayloadTooLargeError, ValidationError } from '../../lambda/core/errors';
import { parseEnqueueRequest } from '../../lambda/core/enqueue-request';

describe('parseEnqueueRequest', () => {
  it('applies the defaults', () => {
    expect(parseEnqueueRequest({ name: 'email.send' })).toEqual({
      name: 'email.send',
      data: null,
      jobId: undefined,
      opts: { attempts: 3, backoff: { type: 'fixed', delay: 0 }, delay: 0 },
    });
  });

  it('keeps every option given', () => {
    const r = parseEnqueueRequest({
      name: 'a:b-c_d.e',
      data: { to: 'x' },
      opts: { attempts: 5, backoff: { type: 'exponential', delay: 100 }, delay: 10, timeout: 500, jobId: '123' },
    });
    expect(r).toEqual({
      name: 'a:b-c_d.e',
      data: { to: 'x' },
      jobId: '123',
      opts: { attempts: 5, backoff: { type: 'exponential', delay: 100 }, delay: 10, timeout: 500 },
    });
  });

  it.each([
    ['a non-object body', [1, 2], /body must be a JSON object/],
    ['a missing name', {}, /name is required/],
    ['a name with a space', { name: 'a b' }, /name must be 1-128 characters/],
    ['a name too long', { name: 'x'.repeat(129) }, /name must be 1-128/],
    ['attempts 0', { name: 'a', opts: { attempts: 0 } }, /opts.attempts must be an integer from 1 to 100/],
    ['attempts 1.5', { name: 'a', opts: { attempts: 1.5 } }, /opts.attempts must be an integer/],
    ['attempts 101', { name: 'a', opts: { attempts: 101 } }, /opts.attempts/],
    ['an unknown backoff type', { name: 'a', opts: { backoff: { type: 'linear', delay: 1 } } }, /"fixed" or "exponential"/],
    ['a negative delay', { name: 'a', opts: { delay: -1 } }, /opts.delay must be 0 or more/],
    ['a jobId with a slash', { name: 'a', opts: { jobId: 'a/b' } }, /opts.jobId must be 1-128/],
    ['an unknown option', { name: 'a', opts: { attempt: 2 } }, /Unknown field opts.attempt/],
  ])('rejects %s with a sentence naming the field', (_, body, message) => {
    expect(() => parseEnqueueRequest(body)).toThrow(ValidationError);
    expect(() => parseEnqueueRequest(body)).toThrow(message);
  });

  it('rejects data over 256 KiB serialised with a 413 error', () => {
    const body = { name: 'a', data: 'x'.repeat(256 * 1024) };
    expect(() => parseEnqueueRequest(body)).toThrow(PayloadTooLargeError);
    expect(() => parseEnqueueRequest({ name: 'a', data: 'x'.repeat(256 * 1024 - 2) })).not.toThrow();
  });
});
