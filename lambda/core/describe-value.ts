/**
 * Words for any value a processor may throw or return, read without ever
 * throwing: a processor is the user's code, and what it hands back may have
 * a getter, `toString` or `toJSON` that throws, no prototype at all, or be a
 * revoked Proxy (on which even `instanceof` throws).
 */

/** Longest description kept of a value; the caller cuts to its own budget too. */
const MAX_CHARS = 1000;

const safely = <T>(read: () => T, otherwise: (error: unknown) => T): T => {
  try {
    return read();
  } catch (error) {
    return otherwise(error);
  }
};

const clip = (text: string): string => (text.length > MAX_CHARS ? `${text.slice(0, MAX_CHARS)}…` : text);

/**
 * A value as a person would want it named: a string quoted, a number as
 * written, an object as its JSON (or its own `toString`), and when none of
 * that can be read, that it could not be and why.
 */
export const describeValue = (value: unknown, depth = 0): string => {
  switch (typeof value) {
    case 'string':
      return clip(JSON.stringify(value));
    case 'undefined':
      return 'undefined';
    case 'number':
    case 'boolean':
      return String(value);
    case 'bigint':
      return `${value}n`;
    case 'symbol':
      return safely(() => value.toString(), () => 'a symbol');
    case 'function':
      return safely(
        () => (value.name ? `a function named ${JSON.stringify(String(value.name))}` : 'a function'),
        () => 'a function',
      );
  }
  if (value === null) return 'null';
  let unreadable: unknown;
  const json = safely(
    () => JSON.stringify(value) as string | undefined,
    (error) => void (unreadable = error),
  );
  if (json !== undefined && json !== '{}') return clip(json);
  const text = safely(
    () => String(value),
    () => undefined,
  );
  if (text !== undefined && !text.startsWith('[object ')) return clip(text);
  if (json === '{}') return 'an object with no fields';
  // describe why, but not the reason's own reason: a hostile value could nest them forever
  return depth > 0 ? 'a value that cannot be read' : `a value that cannot be read (${describeThrown(unreadable, depth + 1)})`;
};

/** Whether `value` is an Error, or looks like one from another realm; false for a revoked Proxy. */
export const isErrorLike = (value: unknown): value is Error =>
  safely(
    () => value instanceof Error || (typeof value === 'object' && value !== null && typeof (value as Error).message === 'string'),
    () => false,
  );

/** An Error's `name: message`, or any other value described: for a failure caught while reading another. */
export const describeThrown = (error: unknown, depth = 0): string => {
  if (!isErrorLike(error)) return describeValue(error, depth);
  const name = readName(error);
  const message = safely(
    () => error.message,
    () => undefined,
  );
  return typeof message === 'string' && message !== '' ? clip(`${name}: ${message}`) : name;
};

/** An Error's `name`, 'Error' when it cannot be read or is not a string. */
export const readName = (error: unknown): string =>
  safely(
    () => {
      const name = (error as Error).name;
      return typeof name === 'string' && name !== '' ? name : 'Error';
    },
    () => 'Error',
  );

/** Read a property that may throw: its value, or `{unreadable}` with why. */
export const readProperty = (target: object, key: string): { value: unknown } | { unreadable: string } =>
  safely<{ value: unknown } | { unreadable: string }>(
    () => ({ value: (target as Record<string, unknown>)[key] }),
    (error) => ({ unreadable: describeThrown(error, 1) }),
  );
