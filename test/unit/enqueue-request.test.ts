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

  it('takes data of exactly 160 KiB as JSON and refuses one byte more with a 413 naming the limit', () => {
    // a JSON string is its characters and two quotes
    expect(() => parseEnqueueRequest({ name: 'a', data: 'x'.repeat(160 * 1024 - 2) })).not.toThrow();
    const over = () => parseEnqueueRequest({ name: 'a', data: 'x'.repeat(160 * 1024 - 1) });
    expect(over).toThrow(PayloadTooLargeError);
    expect(over).toThrow('data is 163841 bytes as JSON; the limit is 163840 bytes (160 KiB).');
  });

  it('counts data in UTF-8 bytes, as DynamoDB does, not in characters', () => {
    // 'é' is 2 bytes: 81,919 of them and the quotes are 163,840 bytes, one more is over
    expect(() => parseEnqueueRequest({ name: 'a', data: 'é'.repeat(81_919) })).not.toThrow();
    expect(() => parseEnqueueRequest({ name: 'a', data: 'é'.repeat(81_920) })).toThrow(PayloadTooLargeError);
  });
});
