import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

/** The account id LocalStack and the emulators use; nothing checks it. */
export const LOCAL_ACCOUNT_ID = '000000000000';

export interface FunctionSettings {
  readonly functionName: string;
  readonly timeoutMs: number;
  readonly region: string;
}

const unsupported = (name: string) => (): never => {
  throw new Error(`context.${name}() is not supported by the local runtime: return a promise from the handler`);
};

/** The Context Lambda hands one invocation; its deadline starts now. */
export const createLambdaContext = (fn: FunctionSettings): Context => {
  const deadline = Date.now() + fn.timeoutMs;
  const day = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: fn.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${fn.region}:${LOCAL_ACCOUNT_ID}:function:${fn.functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${fn.functionName}`,
    logStreamName: `${day}/[$LATEST]local`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported('done'),
    fail: unsupported('fail'),
    succeed: unsupported('succeed'),
  };
};

export class InvocationTimeoutError extends Error {
  override readonly name = 'InvocationTimeoutError';
  constructor(functionName: string, timeoutMs: number) {
    super(`${functionName}: Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`);
  }
}

/**
 * Run one invocation under the function's timeout, as Lambda does. Lambda would
 * stop the function at the deadline; here it keeps running in the background,
 * but the caller treats the invocation as failed, exactly as Lambda reports it.
 */
export const invokeWithTimeout = async <T>(
  fn: FunctionSettings,
  invoke: (context: Context) => Promise<T> | T,
): Promise<T> => {
  const context = createLambdaContext(fn);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new InvocationTimeoutError(fn.functionName, fn.timeoutMs)), fn.timeoutMs);
  });
  try {
    return await Promise.race([(async () => invoke(context))(), timeout]);
  } finally {
    clearTimeout(timer);
  }
};
