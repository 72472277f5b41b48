import { ValidationError } from '../../lambda/core/errors';
import { checkJsonText, MAX_JSON_DEPTH } from '../../lambda/core/json-text';

const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

describe('checkJsonText', () => {
  it('takes nesting up to the limit and refuses one level more', () => {
    expect(() => checkJsonText(nested(MAX_JSON_DEPTH))).not.toThrow();
    expect(() => checkJsonText(`{"a":${nested(MAX_JSON_DEPTH - 1)}}`)).not.toThrow();
    expect(() => checkJsonText(nested(MAX_JSON_DEPTH + 1))).toThrow(/deeper than 64 levels/);
  });

  it('checks a body nested a million levels deep without overflowing the stack', () => {
    expect(() => checkJsonText(nested(1_000_000))).toThrow(ValidationError);
  });

  it('ignores brackets, digits and quotes inside strings', () => {
    expect(() => checkJsonText(JSON.stringify({ s: `${'['.repeat(500)} 1e400 "\\" 99999999999999999999` }))).not.toThrow();
  });

  it.each(['1e400', '-1e400', '{"data": {"x": [1, 2e999]}}'])('refuses %s: not finite once parsed', (text) => {
    expect(() => checkJsonText(text)).toThrow(/beyond what a JSON number can hold/);
  });

  it.each(['9007199254740992', '-12345678901234567890', '{"id": 123456789012345678901234567890}'])(
    'refuses the integer in %s: it would lose digits',
    (text) => {
      expect(() => checkJsonText(text)).toThrow(/would lose digits/);
    },
  );

  it.each(['9007199254740991', '-9007199254740991', '0.1', '1.5e300', '-0', '1E-7', '[1,-2,3.25]'])('keeps %s', (text) => {
    expect(() => checkJsonText(text)).not.toThrow();
  });
});
