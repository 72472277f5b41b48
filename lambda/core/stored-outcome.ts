import { cutToBytes, fitJson } from './byte-budget';
import type { Job } from './job';
import { BUDGETS } from './limits';
import type { Transition } from './transitions';

/** What a job keeps of a processor's result that cannot be stored: why not. */
export interface UnstoredReturnValue {
  readonly notStored: string;
}

/**
 * A processor's result as the job keeps it: a plain JSON copy (undefined
 * becomes null), or, when it has no JSON form or is past its budget, a
 * marker saying so. Never throws, whatever the processor returned.
 */
export const storableReturnValue = (value: unknown): unknown => {
  if (value === undefined) return null;
  const fitted = fitJson(value, BUDGETS.returnValueBytes);
  return fitted.fits ? fitted.value : ({ notStored: `returnValue not stored: ${fitted.reason}` } satisfies UnstoredReturnValue);
};

/** History entries an outcome keeps when its full form was refused. */
const FALLBACK_HISTORY_ENTRIES = 10;

/**
 * The same outcome of an execution, in as little room as it can take: for
 * when the store refused the full one (on DynamoDB, an item that would pass
 * 400 KB; the budgets rule that out only for a job stored within them). The
 * stack and returnValue go, the error is cut to a history entry's budget,
 * history keeps its newest entries; the reason is kept in their place.
 */
export const withSmallestOutcome = (transition: Transition, reason: string): Transition => {
  const next = transition.next;
  const why = cutToBytes(`the store refused the full outcome: ${reason}`, BUDGETS.historyErrorBytes);
  const dropped = Math.max(0, next.history.length - FALLBACK_HISTORY_ENTRIES);
  const smaller: Job = {
    ...next,
    stacktrace: undefined,
    history: next.history.slice(dropped),
    ...(dropped > 0 ? { historyDropped: (next.historyDropped ?? 0) + dropped } : {}),
    ...(next.state === 'completed'
      ? { returnValue: { notStored: `returnValue not stored: ${why}` } satisfies UnstoredReturnValue }
      : // the execution's history entry has its error cut to that budget from the whole message
        { error: `${next.history.at(-1)?.error ?? cutToBytes(next.error ?? '', BUDGETS.historyErrorBytes)} [stack not stored: ${why}]` }),
  };
  return { next: smaller, expect: transition.expect };
};
