import { api, type FailedFilter, type FailedJob } from '../api';
import { h, replace } from '../dom';
import { fromLocalInput, plural, time, toLocalInput } from '../format';
import { errorBox, loading, confirmDialog, busy } from '../ui';
import { bulkAction, describeFilter, eachJob } from './bulk';

const PAGE_SIZE = 50;

/** The filters live in the hash (`#/failed?name=…&since=<epoch ms>`): back, forward and a reload keep them. */
const filterOf = (params: URLSearchParams): FailedFilter => {
  const number = (key: string) => {
    const value = params.get(key);
    return value === null || value === '' || Number.isNaN(Number(value)) ? undefined : Number(value);
  };
  return {
    name: params.get('name') || undefined,
    error: params.get('error') || undefined,
    since: number('since'),
    until: number('until'),
  };
};

const hashOf = (filter: FailedFilter): string => {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(filter)) if (value !== undefined && value !== '') params.set(key, String(value));
  const text = params.toString();
  return text === '' ? '#/failed' : `#/failed?${text}`;
};

const filterForm = (filter: FailedFilter): HTMLFormElement => {
  const field = (id: string, label: string, input: HTMLInputElement) => h('div', { class: 'field' }, h('label', { for: id }, label), input);
  const name = h('input', { id: 'f-name', name: 'name', value: filter.name ?? '', placeholder: 'email.send', autocomplete: 'off' });
  const since = h('input', { id: 'f-since', name: 'since', type: 'datetime-local', step: 1, value: filter.since === undefined ? '' : toLocalInput(filter.since) });
  const until = h('input', { id: 'f-until', name: 'until', type: 'datetime-local', step: 1, value: filter.until === undefined ? '' : toLocalInput(filter.until) });
  const error = h('input', { id: 'f-error', name: 'error', value: filter.error ?? '', placeholder: 'ECONNRESET', autocomplete: 'off' });
  const clear = h('button', { type: 'button' }, 'Clear');
  clear.addEventListener('click', () => (location.hash = '#/failed'));
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter failed jobs' },
    field('f-name', 'Name', name),
    field('f-since', 'Failed since (local time)', since),
    field('f-until', 'Failed until (local time)', until),
    field('f-error', 'Error contains', error),
    h('div', { class: 'field buttons' }, h('button', { type: 'submit', class: 'primary' }, 'Apply filters'), clear),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    location.hash = hashOf({
      name: name.value.trim() || undefined,
      error: error.value.trim() || undefined,
      since: fromLocalInput(since.value),
      until: fromLocalInput(until.value),
    });
  });
  return form;
};

export const failedPage = (main: HTMLElement, params: URLSearchParams): (() => void) => {
  const filter = filterOf(params);
  const list = h('div', {}, loading());
  replace(
    main,
    h('h1', {}, 'Failed jobs'),
    filterForm(filter),
    h('p', { class: 'muted' }, 'Showing failed jobs ', ...describeFilter(filter), ', the most recently failed first.'),
    list,
  );

  /** Cursors of the pages before this one, for Newer. */
  const before: (string | undefined)[] = [];
  let cursor: string | undefined;
  let selected = new Set<string>();
  let allMatching = false;
  let items: FailedJob[] = [];
  let next: string | undefined;

  const load = async () => {
    try {
      const page = await api.failed(filter, PAGE_SIZE, cursor);
      items = page.items;
      next = page.cursor;
      selected = new Set([...selected].filter((id) => items.some((job) => job.id === id)));
      render();
    } catch (error) {
      replace(list, errorBox(error));
    }
  };

  const act = async (kind: 'retry' | 'remove', button: HTMLButtonElement) => {
    if (allMatching) {
      if (await bulkAction(kind, filter)) {
        allMatching = false;
        selected.clear();
        await load();
      }
      return;
    }
    const ids = [...selected];
    if (kind === 'remove') {
      const yes = await confirmDialog({
        title: 'Discard jobs',
        body: [h('p', {}, `Discard ${plural(ids.length, 'failed job')}? They are removed for good.`)],
        confirm: `Discard ${plural(ids.length, 'job')}`,
        danger: true,
      });
      if (!yes) return;
    }
    await busy(button, async () => {
      await eachJob(kind, ids);
      selected.clear();
      await load();
    });
  };

  const render = () => {
    if (items.length === 0 && before.length === 0) {
      replace(list, h('p', { class: 'empty' }, 'No failed job matches.'));
      return;
    }
    const count = allMatching ? 'all matching' : String(selected.size);
    const retry = h('button', { type: 'button', disabled: !allMatching && selected.size === 0 }, `Retry selected (${count})`);
    const remove = h('button', { type: 'button', class: 'danger', disabled: !allMatching && selected.size === 0 }, `Discard selected (${count})`);
    retry.addEventListener('click', () => void act('retry', retry));
    remove.addEventListener('click', () => void act('remove', remove));
    const retryAll = h('button', { type: 'button', class: 'primary' }, 'Retry all matching…');
    const removeAll = h('button', { type: 'button', class: 'danger' }, 'Discard all matching…');
    retryAll.addEventListener('click', () =>
      busy(retryAll, async () => {
        if (await bulkAction('retry', filter)) await load();
      }),
    );
    removeAll.addEventListener('click', () =>
      busy(removeAll, async () => {
        if (await bulkAction('remove', filter)) await load();
      }),
    );

    const everyOnPage = items.length > 0 && items.every((job) => selected.has(job.id));
    const pageBox = h('input', { type: 'checkbox', 'aria-label': 'Select every job on this page', checked: everyOnPage || allMatching });
    pageBox.addEventListener('change', () => {
      allMatching = false;
      selected = pageBox.checked ? new Set(items.map((job) => job.id)) : new Set();
      render();
    });

    let banner: HTMLElement | null = null;
    if (allMatching) {
      const clear = h('button', { type: 'button', class: 'link' }, 'Clear the selection');
      clear.addEventListener('click', () => {
        allMatching = false;
        selected.clear();
        render();
      });
      banner = h('p', { class: 'banner' }, 'Every failed job matching the filters is selected, on every page. ', clear);
    } else if (everyOnPage) {
      const all = h('button', { type: 'button', class: 'link' }, 'Select every job matching the filters');
      all.addEventListener('click', () => {
        allMatching = true;
        render();
      });
      banner = h('p', { class: 'banner' }, `The ${plural(items.length, 'job')} on this page ${items.length === 1 ? 'is' : 'are'} selected. `, all);
    }

    const rows = items.map((job) => {
      const box = h('input', { type: 'checkbox', 'aria-label': `Select job ${job.id}`, checked: allMatching || selected.has(job.id), disabled: allMatching });
      box.addEventListener('change', () => {
        if (box.checked) selected.add(job.id);
        else selected.delete(job.id);
        render();
      });
      return h(
        'tr',
        { 'data-job': job.id },
        h('td', {}, box),
        h('td', { class: 'id' }, h('a', { href: `#/jobs/${encodeURIComponent(job.id)}` }, job.id)),
        h('td', {}, job.name),
        h('td', { class: 'error-text', title: job.error }, job.error),
        h('td', {}, time(job.failedAt)),
        h('td', { class: 'num' }, `${job.attempts}/${job.maxAttempts}`),
      );
    });

    const newer = h('button', { type: 'button', disabled: before.length === 0 }, '← Newer');
    const older = h('button', { type: 'button', disabled: next === undefined }, 'Older →');
    newer.addEventListener('click', () => {
      cursor = before.pop();
      void load();
    });
    older.addEventListener('click', () => {
      before.push(cursor);
      cursor = next;
      void load();
    });

    const focused = document.activeElement?.getAttribute('aria-label');
    replace(
      list,
      h('div', { class: 'toolbar' }, retry, remove, h('span', { class: 'spacer' }), retryAll, removeAll),
      banner,
      h(
        'table',
        { class: 'jobs' },
        h('caption', { class: 'visually-hidden' }, 'Failed jobs'),
        h(
          'thead',
          {},
          h('tr', {}, h('th', { scope: 'col' }, pageBox), ...['id', 'name', 'error', 'failed at', 'attempts'].map((c) => h('th', { scope: 'col' }, c))),
        ),
        h('tbody', {}, ...rows),
      ),
      h('nav', { class: 'pager', 'aria-label': 'Pages' }, newer, h('span', { class: 'muted' }, `Page ${before.length + 1}`), older),
    );
    // a re-render replaces the checkboxes: keep the keyboard where it was
    if (focused) list.querySelector<HTMLElement>(`[aria-label="${CSS.escape(focused)}"]`)?.focus();
  };

  void load();
  return () => undefined;
};
