import { ValidationError } from './errors';

/**
 * How deep a request body may nest arrays and objects. JSON.parse reads any
 * depth, but JSON.stringify, zod and the code that renders a job recurse, and
 * overflow the stack some thousands of levels down; DynamoDB itself refuses
 * documents past 32 levels (requeue keeps data as JSON text, so that limit does
 * not bind). 64 is far more than real payloads use and far from any stack limit.
 */
export const MAX_JSON_DEPTH = 64;

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
// what a JSON number literal may hold past its first character: digits . e E + -
const isNumberPart = (c: number) => isDigit(c) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d;

/**
 * Refuse what JSON.parse accepts but cannot keep: nesting past
 * {@link MAX_JSON_DEPTH}, numbers beyond a double's range (`1e400` parses to
 * Infinity, and is stored as null), and integers beyond ±(2^53 − 1), which
 * parse to a neighbouring number and would reach the processor changed.
 * Fractions and exponents are floats by nature and kept as parsed. `text` is
 * JSON that has parsed; read in one pass with no recursion, so any depth is
 * safe to check.
 */
export const checkJsonText = (text: string): void => {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // a string: nothing in it counts, up to its closing quote
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_JSON_DEPTH) {
        throw new ValidationError(`The body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels; flatten it`);
      }
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    } else if (c === 0x2d || isDigit(c)) {
      let end = i + 1;
      while (end < text.length && isNumberPart(text.charCodeAt(end))) end++;
      checkNumber(text.slice(i, end));
      i = end - 1;
    }
  }
};

const checkNumber = (literal: string): void => {
  const value = Number(literal);
  const shown = literal.length > 40 ? `${literal.slice(0, 40)}…` : literal;
  if (!Number.isFinite(value)) {
    throw new ValidationError(`The body holds the number ${shown}, beyond what a JSON number can hold here; send it as a string`);
  }
  if (!/[.eE]/.test(literal) && !Number.isSafeInteger(value)) {
    throw new ValidationError(
      `The body holds the integer ${shown}, beyond ±${Number.MAX_SAFE_INTEGER}, which would lose digits; send it as a string`,
    );
  }
};
