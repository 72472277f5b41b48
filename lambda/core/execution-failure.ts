import { describeValue, isErrorLike, readName, readProperty } from './describe-value';
import { UnrecoverableError } from './errors';

/** How an execution failed, as the job's error, stack and history record it. */
export interface ExecutionFailure {
  readonly message: string;
  readonly stack?: string;
  readonly timedOut?: boolean;
  readonly unrecoverable?: boolean;
}

/**
 * What a processor threw, in words that can be stored: the message is always
 * a string, and nothing here throws, whatever was thrown (a string,
 * undefined, an object without prototype, an Error whose `message` or
 * `stack` getter throws, a revoked Proxy...).
 */
export const describeFailure = (error: unknown, timedOut = false): ExecutionFailure => {
  if (typeof error === 'string') return { message: error === '' ? 'The processor threw an empty string' : error, timedOut };
  if (!isErrorLike(error)) return { message: `The processor threw ${describeValue(error)}, not an Error`, timedOut };
  const name = readName(error);
  const message = readProperty(error, 'message');
  const stack = readProperty(error, 'stack');
  return {
    message:
      'unreadable' in message
        ? `${name} whose message could not be read: ${message.unreadable}`
        : typeof message.value === 'string'
          ? message.value || `${name} with no message`
          : `${name} whose message is not a string: ${describeValue(message.value)}`,
    stack: 'value' in stack && typeof stack.value === 'string' ? stack.value : undefined,
    timedOut,
    unrecoverable: name === 'UnrecoverableError' || isUnrecoverable(error),
  };
};

/** `instanceof` runs a Proxy's getPrototypeOf trap, which may throw (a revoked Proxy does). */
const isUnrecoverable = (error: unknown): boolean => {
  try {
    return error instanceof UnrecoverableError;
  } catch {
    return false;
  }
};
