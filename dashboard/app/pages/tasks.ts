import { api, type Task } from '../api';
import { h, replace } from '../dom';
import { duration, time } from '../format';
import { busy, errorBox, loading, notify, poll } from '../ui';
import { describeFilter } from './bulk';

const REFRESH_MS = 1_000;
const LIST_SIZE = 20;
const OPEN = new Set(['RUNNING', 'CANCELLING']);

const doneOf = (task: Task): number => (task.kind === 'remove' ? task.removed : task.retried) ?? 0;

/** Jobs a second over the task's life so far: steady, where two samples a second apart would jump about. */
const rateOf = (task: Task): number | undefined => {
  const elapsedMs = (task.finishedAt ?? task.updatedAt) - task.startedAt;
  const seen = doneOf(task) + task.failed;
  return elapsedMs > 0 && seen > 0 ? (seen / elapsedMs) * 1000 : undefined;
};

const taskCard = (task: Task, onCancel: (task: Task, button: HTMLButtonElement) => void): HTMLElement => {
  const done = doneOf(task);
  const seen = done + task.failed;
  const rate = rateOf(task);
  const left = task.total - seen;
  const verb = task.kind === 'remove' ? 'removed' : 'retried';
  const label = `Task ${task.taskId}: ${seen} of ${task.total}`;
  let cancel: HTMLButtonElement | null = null;
  if (task.status === 'RUNNING') {
    cancel = h('button', { type: 'button', class: 'danger' }, 'Cancel');
    const button = cancel;
    button.addEventListener('click', () => onCancel(task, button));
  }
  return h(
    'article',
    { class: `task ${task.status.toLowerCase()}`, 'data-task': task.taskId, 'data-status': task.status, 'aria-label': `${task.kind} task ${task.taskId}` },
    h(
      'header',
      {},
      h('h2', {}, `${task.kind === 'remove' ? 'Remove' : 'Retry'} task `, h('code', {}, task.taskId)),
      h('span', { class: `badge ${task.status.toLowerCase()}` }, task.status),
      cancel,
    ),
    h('progress', { max: Math.max(1, task.total), value: seen, 'aria-label': label }),
    h(
      'p',
      { class: 'progress-text' },
      h('span', { 'data-done': done }, `${done} ${verb}`),
      `, ${task.failed} could not be, of ${task.total}`,
      rate === undefined ? '' : ` — ${rate.toFixed(1)} jobs/s`,
      rate !== undefined && OPEN.has(task.status) && left > 0 ? `, about ${duration(Math.round((left / rate) * 1000))} left` : '',
      task.maxPerSecond ? ` (at most ${task.maxPerSecond}/s)` : '',
    ),
    h(
      'p',
      { class: 'muted' },
      'Failed jobs ',
      ...describeFilter(task.filter),
      task.limit ? `, at most ${task.limit}` : '',
      `. Started by ${task.by ?? 'someone unrecorded'} `,
      time(task.startedAt),
      task.finishedAt ? [', ended ', time(task.finishedAt)] : [', updated ', time(task.updatedAt)],
      '.',
    ),
    task.error ? h('p', { class: 'notice error' }, task.error) : null,
  );
};

export const tasksPage = (main: HTMLElement): (() => void) => {
  const list = h('div', {}, loading());
  replace(main, h('h1', {}, 'Retry and remove tasks'), h('p', { class: 'muted' }, 'The most recently started first; refreshes every second.'), list);

  const cancel = (task: Task, button: HTMLButtonElement) =>
    void busy(button, async () => {
      const answer = await api.cancelTask(task.taskId);
      notify(`Task ${task.taskId} is ${answer.status.toLowerCase()}: jobs already ${task.kind === 'remove' ? 'removed' : 'retried'} stay so, the rest stay failed.`);
      stop();
      stop = start();
    });

  const start = () =>
    poll(REFRESH_MS, async () => {
      try {
        const page = await api.tasks(LIST_SIZE);
        // a button under the keyboard is not redrawn away between two presses
        const focusedTask = document.activeElement?.closest('[data-task]')?.getAttribute('data-task');
        replace(list, page.items.length === 0 ? h('p', { class: 'empty' }, 'No task has run yet.') : page.items.map((task) => taskCard(task, cancel)));
        if (focusedTask) list.querySelector<HTMLElement>(`[data-task="${CSS.escape(focusedTask)}"] button`)?.focus();
        return true;
      } catch (error) {
        replace(list, errorBox(error));
        return true;
      }
    });
  let stop = start();
  return () => stop();
};
