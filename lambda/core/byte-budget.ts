import { describeThrown } from './describe-value';

/** The size DynamoDB counts for a string: its UTF-8 bytes. */
export const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

// a lone surrogate has no UTF-8 form: Buffer writes it as U+FFFD, which is what we store
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * `text` in at most `maxBytes` UTF-8 bytes: as it is when it fits, else its
 * start, cut between characters, followed by a note of how long it was.
 */
export const cutToBytes = (text: string, maxBytes: number): string => {
  const total = utf8Bytes(text);
  if (total <= maxBytes) return LONE_SURROGATE.test(text) ? Buffer.from(text, 'utf8').toString('utf8') : text;
  const note = `… [cut to ${maxBytes} of ${total} bytes]`;
  const bytes = Buffer.from(text, 'utf8');
  let end = Math.max(0, maxBytes - utf8Bytes(note));
  // never keep part of a character: step back off its continuation bytes (10xxxxxx)
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8') + note;
};

/** A value as stored in a job item's JSON text, or why it cannot be. */
export type FittedJson =
  | { readonly fits: true; readonly value: unknown; readonly bytes: number }
  | { readonly fits: false; readonly reason: string };

/**
 * Serialise `value` as JSON within `maxBytes`. Never throws: a BigInt, a
 * cycle, a throwing `toJSON` or getter, a revoked Proxy give a reason
 * instead. The value that fits comes back parsed from its JSON, a plain copy
 * that serialises the same way every time (the item is built from it later).
 */
export const fitJson = (value: unknown, maxBytes: number): FittedJson => {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    return { fits: false, reason: `it could not be serialised as JSON: ${describeThrown(error)}` };
  }
  if (json === undefined) return { fits: false, reason: `${typeofValue(value)} has no JSON form` };
  const bytes = utf8Bytes(json);
  if (bytes > maxBytes) return { fits: false, reason: `it is ${bytes} bytes as JSON, over its budget of ${maxBytes} bytes` };
  return { fits: true, value: JSON.parse(json), bytes };
};

const typeofValue = (value: unknown): string => {
  const type = typeof value;
  return type === 'undefined' ? 'undefined' : `a ${type}`;
};
