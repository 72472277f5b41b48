import { api, type Task } from '../api';
import { h, replace } from '../dom';
import { duration, time } from '../format';
import { busy, errorBox, loading, notify, poll } from '../ui';
import { taskProgress } from '../task-progress';
import { describeFilter } from './bulk';

const REFRESH_MS = 1_000;
const LIST_SIZE = 20;
const OPEN = new Set(['RUNNING', 'CANCELLING']);

interface Card {
  readonly element: HTMLElement;
  update(task: Task): void;
}

/** A task's card, updated in place on every refresh: its Cancel button stays the one under the pointer or the keyboard. */
const taskCard = (first: Task, onCancel: (task: Task, button: HTMLButtonElement) => void): Card => {
  let current = first;
  const badge = h('span', { class: 'badge' });
  const cancel = h('button', { type: 'button', class: 'danger' }, 'Cancel');
  cancel.addEventListener('click', () => onCancel(current, cancel));
  const progress = h('progress', {});
  const counts = h('p', { class: 'progress-text' });
  const about = h('p', { class: 'muted' });
  const error = h('p', { class: 'notice error', hidden: true });
  const element = h(
    'article',
    { class: 'task', 'data-task': first.taskId, 'aria-label': `${first.kind} task ${first.taskId}` },
    h('header', {}, h('h2', {}, `${first.kind === 'remove' ? 'Remove' : 'Retry'} task `, h('code', {}, first.taskId)), badge, cancel),
    progress,
    counts,
    about,
    error,
  );
  const update = (task: Task) => {
    current = task;
    const { done, seen, target, perSecond, remainingMs } = taskProgress(task);
    const verb = task.kind === 'remove' ? 'removed' : 'retried';
    element.dataset.status = task.status;
    element.className = `task ${task.status.toLowerCase()}`;
    badge.className = `badge ${task.status.toLowerCase()}`;
    badge.textContent = task.status;
    cancel.hidden = task.status !== 'RUNNING';
    progress.max = Math.max(1, task.total);
    progress.value = seen;
    progress.setAttribute('aria-label', `Task ${task.taskId}: ${seen} of ${task.total} done`);
    replace(
      counts,
      h('span', { 'data-done': done }, `${done} ${verb}`),
      `, ${task.failed} could not be, of ${task.total}`,
      perSecond === undefined ? '' : ` — ${perSecond.toFixed(1)} jobs/s`,
      remainingMs !== undefined && OPEN.has(task.status) && seen < target ? `, about ${duration(Math.round(remainingMs))} left` : '',
      task.maxPerSecond ? ` (at most ${task.maxPerSecond}/s)` : '',
    );
    replace(
      about,
      'Failed jobs ',
      ...describeFilter(task.filter),
      task.limit ? `, at most ${task.limit}` : '',
      `. Started by ${task.by ?? 'someone unrecorded'} `,
      time(task.startedAt),
      task.finishedAt ? [', ended ', time(task.finishedAt)] : [', updated ', time(task.updatedAt)],
      '.',
    );
    error.hidden = !task.error;
    error.textContent = task.error ?? '';
  };
  update(first);
  return { element, update };
};

export const tasksPage = (main: HTMLElement): (() => void) => {
  const list = h('div', {}, loading());
  replace(main, h('h1', {}, 'Retry and remove tasks'), h('p', { class: 'muted' }, 'The most recently started first; refreshes every second.'), list);
  const cards = new Map<string, Card>();

  const cancel = (task: Task, button: HTMLButtonElement) =>
    void busy(button, async () => {
      const answer = await api.cancelTask(task.taskId);
      notify(`Task ${task.taskId} is ${answer.status.toLowerCase()}: jobs already ${task.kind === 'remove' ? 'removed' : 'retried'} stay so, the rest stay failed.`);
      cards.get(task.taskId)?.update(answer);
    });

  return poll(REFRESH_MS, async () => {
    try {
      const page = await api.tasks(LIST_SIZE);
      if (page.items.length === 0) {
        replace(list, h('p', { class: 'empty' }, 'No task has run yet.'));
        return true;
      }
      const shown = page.items.map((task) => {
        const card = cards.get(task.taskId) ?? taskCard(task, cancel);
        cards.set(task.taskId, card);
        card.update(task);
        return card.element;
      });
      // moves only what changed place: an element already there stays, with its focus
      shown.forEach((element, i) => {
        if (list.children[i] !== element) list.insertBefore(element, list.children[i] ?? null);
      });
      while (list.children.length > shown.length) list.lastElementChild!.remove();
      return true;
    } catch (error) {
      replace(list, errorBox(error));
      return true;
    }
  });
};
