import fc from 'fast-check';
import { cutToBytes, fitJson, utf8Bytes } from '../../lambda/core/byte-budget';

describe('cutToBytes', () => {
  it('keeps a string that fits as it is', () => {
    expect(cutToBytes('héllo', 6)).toBe('héllo');
  });

  it('cuts a string past its budget to exactly the budget or less, saying how long it was', () => {
    const cut = cutToBytes('x'.repeat(5000), 100);
    expect(utf8Bytes(cut)).toBe(100);
    expect(cut).toMatch(/^x+… \[cut to 100 of 5000 bytes\]$/);
  });

  it('never splits a character, whatever the budget', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 30, maxLength: 300 }), fc.integer({ min: 40, max: 400 }), (text, budget) => {
        const cut = cutToBytes(text, budget);
        expect(utf8Bytes(cut)).toBeLessThanOrEqual(budget);
        // what is kept is whole characters from the start (a split one would decode as U+FFFD and differ;
        // lone surrogates read as U+FFFD, as they are stored)
        const kept = cut.replace(/… \[cut to \d+ of \d+ bytes\]$/, '');
        expect(Buffer.from(text, 'utf8').toString('utf8').startsWith(kept)).toBe(true);
      }),
    );
  });

  it('replaces a lone surrogate, which has no UTF-8 form, even in a string that fits', () => {
    expect(cutToBytes('a\uD800b', 100)).toBe('a\uFFFDb');
  });
});

describe('fitJson', () => {
  it('fits a value up to its budget, in UTF-8 bytes of its JSON, and refuses one byte more', () => {
    expect(fitJson('é'.repeat(9), 20)).toEqual({ fits: true, value: 'é'.repeat(9), bytes: 20 });
    expect(fitJson('é'.repeat(10), 20)).toEqual({ fits: false, reason: 'it is 22 bytes as JSON, over its budget of 20 bytes' });
  });
});
