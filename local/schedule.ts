import { randomUUID } from 'node:crypto';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { invokeWithTimeout, LOCAL_ACCOUNT_ID } from './lambda-context';

/**
 * An emulation of an EventBridge schedule rule: invoke a function with a
 * `Scheduled Event` at a fixed rate. Runs never overlap here; a slow one
 * delays the next.
 */

export type ScheduledHandler = (event: ScheduledEvent, context: Context) => Promise<unknown> | unknown;

export interface ScheduleOptions {
  /** `rate(<n> minute|minutes|hour|hours|day|days)`, as EventBridge writes it. */
  readonly expression: string;
  readonly handler: ScheduledHandler;
  readonly functionName: string;
  readonly timeoutMs: number;
  readonly region: string;
  /** @default stderr */
  readonly logError?: (message: string) => void;
}

export interface Schedule {
  /** Stop the timer; resolves when a run in progress is done. */
  stop(): Promise<void>;
}

const UNIT_MS: Record<string, number> = {
  minute: 60_000,
  minutes: 60_000,
  hour: 3_600_000,
  hours: 3_600_000,
  day: 86_400_000,
  days: 86_400_000,
};

/** The period of a `rate(...)` expression in milliseconds. */
export const parseRate = (expression: string): number => {
  const match = /^rate\((\d+) (minutes?|hours?|days?)\)$/.exec(expression.trim());
  const value = Number(match?.[1]);
  if (!match || value < 1 || (value === 1) !== !match[2]!.endsWith('s')) {
    throw new Error(`Unsupported schedule expression '${expression}': use rate(1 minute) or rate(<n> minutes|hours|days)`);
  }
  return value * UNIT_MS[match[2]!]!;
};

export const scheduledEvent = (ruleName: string, region: string, at: Date): ScheduledEvent => ({
  version: '0',
  id: randomUUID(),
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: LOCAL_ACCOUNT_ID,
  time: at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
  region,
  resources: [`arn:aws:events:${region}:${LOCAL_ACCOUNT_ID}:rule/${ruleName}`],
  detail: {},
});

export const startSchedule = (options: ScheduleOptions): Schedule => {
  const periodMs = parseRate(options.expression);
  const logError = options.logError ?? ((message: string) => process.stderr.write(`${message}\n`));
  const fn = { functionName: options.functionName, timeoutMs: options.timeoutMs, region: options.region };
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const run = async (): Promise<void> => {
    try {
      const event = scheduledEvent(`${options.functionName}-schedule`, options.region, new Date());
      await invokeWithTimeout(fn, (context) => options.handler(event, context));
    } catch (error) {
      logError(`${fn.functionName}: the scheduled invocation failed\n${(error as Error).stack ?? String(error)}`);
    }
  };
  const next = () => {
    timer = setTimeout(() => {
      running = run().finally(() => {
        if (!stopped) next();
      });
    }, periodMs);
  };
  next();

  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
};
