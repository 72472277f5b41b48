import { api, type BulkAnswer, type FailedFilter } from '../api';
import { h } from '../dom';
import { plural, time } from '../format';
import { confirmDialog, notify, notifyError } from '../ui';

/** The filter in words, for the confirmation an operator reads before a bulk action. */
export const describeFilter = (filter: FailedFilter): (Node | string)[] => {
  const parts: (Node | string)[][] = [];
  if (filter.name) parts.push([`named ${filter.name}`]);
  if (filter.error) parts.push([`with “${filter.error}” in their error`]);
  if (filter.since !== undefined) parts.push(['failed since ', time(filter.since)]);
  if (filter.until !== undefined) parts.push(['failed until ', time(filter.until)]);
  return parts.length === 0 ? ['of any name, at any time'] : parts.flatMap((part, i) => (i === 0 ? part : [', ', ...part]));
};

const outcome = (kind: 'retry' | 'remove', answer: BulkAnswer): string => {
  if (answer.taskId) return answer.message;
  const done = kind === 'retry' ? answer.retriedCount ?? 0 : answer.removedCount ?? 0;
  const failed = answer.failedCount ? `, ${answer.failedCount} could not be` : '';
  return `${answer.message}: ${done} of ${answer.total} ${kind === 'retry' ? 'retried' : 'removed'}${failed}.`;
};

/**
 * Retry or remove every failed job a filter matches: first a dry run says how
 * many match, and nothing is done until the operator confirms that number.
 * Resolves true when something was started.
 */
export const bulkAction = async (kind: 'retry' | 'remove', filter: FailedFilter): Promise<boolean> => {
  const verb = kind === 'retry' ? 'Retry' : 'Discard';
  let preview: BulkAnswer;
  try {
    preview = kind === 'retry' ? await api.retryAll(filter, { dryRun: true }) : await api.removeAll(filter, { dryRun: true });
  } catch (error) {
    notifyError(error);
    return false;
  }
  const count = preview.total;
  if (count === 0) {
    await confirmDialog({ title: `${verb} all matching`, body: [h('p', { 'data-dry-run': '0' }, 'No failed job matches the filters: nothing to do.')], confirm: 'OK' });
    return false;
  }
  const background = h('input', { type: 'checkbox', id: 'bulk-async' });
  const rate = h('input', { type: 'number', id: 'bulk-rate', min: 1, max: 10000, step: 1, inputmode: 'numeric' });
  const confirmed = await confirmDialog({
    title: `${verb} all matching`,
    body: [
      h('p', { class: 'dry-run' }, 'Dry run: ', h('strong', { 'data-dry-run': count }, plural(count, 'failed job')), ' match, ', ...describeFilter(filter), '. Nothing has been done yet.'),
      h('p', {}, background, ' ', h('label', { for: 'bulk-async' }, 'Run as a background task (always so past 1,000 jobs)')),
      kind === 'retry'
        ? h('p', {}, h('label', { for: 'bulk-rate' }, 'At most this many jobs a second (a task; empty: as fast as it goes) '), rate)
        : null,
    ].filter((n): n is HTMLParagraphElement => n !== null),
    confirm: `${verb} ${plural(count, 'job')}`,
    danger: kind === 'remove',
  });
  if (!confirmed) return false;
  const maxPerSecond = rate.value === '' ? undefined : Number(rate.value);
  const options = { async: background.checked || maxPerSecond !== undefined || undefined, maxPerSecond };
  try {
    const answer = kind === 'retry' ? await api.retryAll(filter, options) : await api.removeAll(filter, options);
    notify(outcome(kind, answer));
    if (answer.taskId) location.hash = '#/tasks';
    return true;
  } catch (error) {
    notifyError(error);
    return false;
  }
};

/** Retry or remove the chosen jobs one by one (a few at a time), telling how many were and why the others were not. */
export const eachJob = async (kind: 'retry' | 'remove', ids: readonly string[]): Promise<void> => {
  const refusals: string[] = [];
  let done = 0;
  const queue = [...ids];
  const worker = async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      try {
        await (kind === 'retry' ? api.retry(id) : api.remove(id));
        done++;
      } catch (error) {
        refusals.push((error as Error).message);
      }
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  const verb = kind === 'retry' ? 'Retried' : 'Discarded';
  notify(`${verb} ${done} of ${plural(ids.length, 'job')}.`);
  for (const refusal of refusals.slice(0, 3)) notify(refusal, 'error');
  if (refusals.length > 3) notify(`${refusals.length - 3} more refused.`, 'error');
};
