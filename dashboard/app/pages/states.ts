import { api, JOB_STATES, type JobState, type JobSummary } from '../api';
import { h, replace } from '../dom';
import { time } from '../format';
import { errorBox, loading } from '../ui';

const PAGE_SIZE = 50;

const tabs = (current: JobState) =>
  h(
    'nav',
    { class: 'tabs', 'aria-label': 'States' },
    ...JOB_STATES.map((state) => h('a', { href: `#/state/${state}`, ...(state === current ? { 'aria-current': 'page' } : {}) }, state)),
  );

type Column = readonly [string, (job: JobSummary) => Node | string | number];

const columns = (state: JobState): Column[] => [
  ['id', (job) => h('a', { class: 'id', href: `#/jobs/${encodeURIComponent(job.id)}` }, job.id)],
  ['name', (job) => job.name],
  ['attempts', (job) => `${job.attempts}/${job.maxAttempts}`],
  ['created', (job) => time(job.createdAt)],
  [state === 'completed' || state === 'failed' ? 'ended' : 'enqueued or retried', (job) => time(job.updatedAt)],
  ...(state === 'delayed' ? [['runs at', (job) => time(job.runAt)] as Column] : []),
  ...(state === 'failed' ? [['error', (job) => job.error ?? ''] as Column] : []),
];

export const statePage = (main: HTMLElement, state: JobState, params: URLSearchParams): (() => void) => {
  const name = params.get('name') ?? '';
  const list = h('div', {}, loading());
  const input = h('input', { id: 's-name', value: name, autocomplete: 'off' });
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': `Filter ${state} jobs` },
    h('div', { class: 'field' }, h('label', { for: 's-name' }, 'Name'), input),
    h('div', { class: 'field buttons' }, h('button', { type: 'submit', class: 'primary' }, 'Apply'), h('button', { type: 'button', 'data-refresh': '' }, 'Refresh')),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const value = input.value.trim();
    location.hash = value ? `#/state/${state}?name=${encodeURIComponent(value)}` : `#/state/${state}`;
  });
  replace(main, h('h1', {}, `${state[0]!.toUpperCase()}${state.slice(1)} jobs`), tabs(state), form, list);

  const before: (string | undefined)[] = [];
  let cursor: string | undefined;
  const load = async () => {
    try {
      let page = await api.jobs(state, name || undefined, PAGE_SIZE, cursor);
      // a page of a state rare among the pending jobs may come back empty with a cursor: read on to its jobs
      while (page.items.length === 0 && page.cursor !== undefined) page = await api.jobs(state, name || undefined, PAGE_SIZE, page.cursor);
      const cols = columns(state);
      const newer = h('button', { type: 'button', disabled: before.length === 0 }, '← Newer');
      const older = h('button', { type: 'button', disabled: page.cursor === undefined }, 'Older →');
      newer.addEventListener('click', () => {
        cursor = before.pop();
        void load();
      });
      older.addEventListener('click', () => {
        before.push(cursor);
        cursor = page.cursor;
        void load();
      });
      replace(
        list,
        page.items.length === 0
          ? h('p', { class: 'empty' }, `No ${state} job${name ? ` named ${name}` : ''}.`)
          : h(
              'table',
              { class: 'jobs' },
              h('caption', { class: 'visually-hidden' }, `${state} jobs, the most recent change first`),
              h('thead', {}, h('tr', {}, ...cols.map(([title]) => h('th', { scope: 'col' }, title)))),
              h('tbody', {}, ...page.items.map((job) => h('tr', { 'data-job': job.id }, ...cols.map(([, cell]) => h('td', {}, cell(job)))))),
            ),
        h('nav', { class: 'pager', 'aria-label': 'Pages' }, newer, h('span', { class: 'muted' }, `Page ${before.length + 1}`), older),
      );
    } catch (error) {
      replace(list, errorBox(error));
    }
  };
  form.querySelector('[data-refresh]')!.addEventListener('click', () => void load());
  void load();
  return () => undefined;
};
