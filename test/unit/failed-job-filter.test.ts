import { ValidationError } from '../../lambda/core/errors';
import { parseFailedJobFilter } from '../../lambda/core/failed-job-filter';
import { parseRetryAllRequest } from '../../lambda/core/retry-all-request';

describe('parseFailedJobFilter (a query string)', () => {
  it('reads epoch milliseconds written as decimal digits', () => {
    expect(parseFailedJobFilter({ since: '1700000000000', until: '1700000000001', name: 'a.b', error: 'x' })).toEqual({
      since: 1_700_000_000_000,
      until: 1_700_000_000_001,
      name: 'a.b',
      error: 'x',
    });
  });

  it.each(['', '0x10', '1e3', ' 100 ', '100 ', '+5', '-1', '1.0', 'true', '[2]', 'null', 'Infinity', '12345678901234567'])(
    'refuses since=%j: only plain decimal digits',
    (since) => {
      expect(() => parseFailedJobFilter({ since })).toThrow(ValidationError);
      expect(() => parseFailedJobFilter({ since })).toThrow(/since must be (a whole number of )?epoch milliseconds/);
    },
  );

  it.each([
    ['2026-12-02T04:40:00Z', 1_796_186_400_000],
    ['2026-12-02T04:40:00.250Z', 1_796_186_400_250],
    ['2026-12-02T04:40:00.2Z', 1_796_186_400_200],
    ['2026-12-02T06:40:00+02:00', 1_796_186_400_000],
    ['2026-12-01T23:10:00-05:30', 1_796_186_400_000],
    ['1970-01-01T00:00:00Z', 0],
  ])('reads since=%s, an ISO 8601 date-time with a zone, as epoch ms', (since, at) => {
    expect(parseFailedJobFilter({ since, until: since })).toEqual({ since: at, until: at });
    expect(parseRetryAllRequest({}, { since }).filter).toEqual({ since: at });
  });

  it.each([
    ['2026-12-02', /has no time zone/],
    ['2026-12-02T04:40:00', /has no time zone/],
    ['2026-12-02T04:40Z', /ISO 8601 date-time with seconds and a zone/],
    ['2026-12-02T04:40:00.1234Z', /ISO 8601 date-time with seconds and a zone/],
    ['2026-02-30T00:00:00Z', /is not a date-time that exists/],
    ['2026-12-02T24:00:00Z', /is not a date-time that exists/],
    ['2026-12-02T04:40:00+24:00', /is not a date-time that exists/],
    ['1969-12-31T23:59:59Z', /0 or more/],
    ['2026-12-02 04:40:00Z', /ISO 8601/],
    ['yesterday', /ISO 8601/],
  ])('refuses since=%s with a sentence saying why', (since, why) => {
    expect(() => parseFailedJobFilter({ since })).toThrow(why);
    expect(() => parseRetryAllRequest({}, { since })).toThrow(why);
  });

  it('compares an ISO since with an epoch until', () => {
    expect(() => parseFailedJobFilter({ since: '2026-12-02T04:40:00Z', until: '1796186399999' })).toThrow(/is after until/);
  });

  it('refuses an error text with an unpaired surrogate, which has no UTF-8 form', () => {
    expect(() => parseFailedJobFilter({ error: 'a\uD800b' })).toThrow(/unpaired UTF-16 surrogate/);
  });
});

describe('parseRetryAllRequest', () => {
  it('reads numbers and flags from the query string as text, from the body as JSON values', () => {
    expect(parseRetryAllRequest({ limit: '5', dryRun: 'true', since: '10' }, { until: 20, async: false, maxPerSecond: 3 })).toEqual({
      filter: { since: 10, until: 20 },
      limit: 5,
      dryRun: true,
      async: false,
      maxPerSecond: 3,
    });
  });

  it('lets the body win over the query string', () => {
    expect(parseRetryAllRequest({ name: 'a' }, { name: 'b' }).filter).toEqual({ name: 'b' });
  });

  it.each([
    ['limit as text', { limit: '5' }],
    ['limit true', { limit: true }],
    ['limit null', { limit: null }],
    ['limit [2]', { limit: [2] }],
    ['limit 2.5', { limit: 2.5 }],
    ['since as text', { since: '100' }],
    ['since null', { since: null }],
    ['since not finite', { since: Number.POSITIVE_INFINITY }],
    ['since beyond 2^53', { since: 2 ** 60 }],
    ['maxPerSecond as text', { maxPerSecond: '10' }],
    ['dryRun as text', { dryRun: 'true' }],
    ['async 1', { async: 1 }],
  ])('refuses %s in a body', (_, body) => {
    expect(() => parseRetryAllRequest({}, body)).toThrow(ValidationError);
  });

  it.each([
    ['limit=', { limit: '' }],
    ['limit=0x10', { limit: '0x10' }],
    ['limit=1e3', { limit: '1e3' }],
    ['limit=" 100 "', { limit: ' 100 ' }],
    ['maxPerSecond=true', { maxPerSecond: 'true' }],
    ['until=null', { until: 'null' }],
    ['dryRun=1', { dryRun: '1' }],
  ])('refuses %s in a query string', (_, query) => {
    expect(() => parseRetryAllRequest(query, undefined)).toThrow(ValidationError);
  });
});
