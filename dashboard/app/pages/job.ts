import { api, type Job } from '../api';
import { h, replace } from '../dom';
import { duration, json, time } from '../format';
import { busy, confirmDialog, errorBox, loading, notify, poll, section } from '../ui';

const REFRESH_MS = 1_500;
const SETTLED = new Set(['completed', 'failed']);

type Entry = { at: number; node: HTMLElement };

/** Every execution and every retry, in the order they happened. */
const timeline = (job: Job): HTMLElement => {
  const entries: Entry[] = [
    ...job.history.map((run) => ({
      at: run.start,
      node: h(
        'li',
        { class: `run ${run.outcome}`, 'data-outcome': run.outcome },
        h('strong', {}, run.outcome),
        ` — generation ${run.generation}, attempt ${run.attempt}: started `,
        time(run.start),
        run.end === undefined ? ', still running' : [', ended ', time(run.end), ` (${duration(run.end - run.start)})`],
        run.error ? h('pre', { class: 'error-text' }, run.error) : null,
      ),
    })),
    ...job.retries.map((retry) => ({
      at: retry.at,
      node: h(
        'li',
        { class: 'retry', 'data-retry-by': retry.by ?? '' },
        h('strong', {}, 'retried'),
        ` by ${retry.by ?? 'someone unrecorded'} (${retry.source}) `,
        time(retry.at),
        `, generation ${retry.generation}`,
        retry.taskId ? [' by task ', h('a', { href: '#/tasks' }, retry.taskId)] : null,
        retry.dataChanged ? ', with new data' : null,
      ),
    })),
  ].sort((a, b) => a.at - b.at);
  return h(
    'div',
    {},
    job.historyDropped ? h('p', { class: 'muted' }, `${job.historyDropped} older execution(s) are not kept.`) : null,
    entries.length === 0 ? h('p', { class: 'muted' }, 'Not run yet.') : h('ol', { class: 'timeline' }, ...entries.map((e) => e.node)),
  );
};

const facts = (job: Job): HTMLElement => {
  const row = (term: string, value: Node | string | number) => [h('dt', {}, term), h('dd', {}, value)];
  return h(
    'dl',
    { class: 'facts' },
    ...row('state', h('span', { class: `badge ${job.state}`, 'data-job-state': job.state }, job.state)),
    ...row('name', job.name),
    ...row('attempts', `${job.attempts} of ${job.maxAttempts}`),
    ...row('generation', job.generation),
    ...row('created', time(job.createdAt)),
    ...row('processed', time(job.processedAt)),
    ...row('finished', time(job.finishedAt)),
    ...row('failed', time(job.failedAt)),
    ...(job.state === 'delayed' ? row('runs at', time(job.runAt)) : []),
  );
};

export const jobPage = (main: HTMLElement, jobId: string): (() => void) => {
  const actions = h('div', { class: 'toolbar' });
  const body = h('div', {}, loading());
  replace(main, h('p', {}, h('a', { href: '#/failed' }, '← Failed jobs')), h('h1', {}, 'Job ', h('code', {}, jobId)), actions, body);
  let shown: Job | undefined;
  let stop = () => undefined as void;

  const refresh = () => {
    stop();
    stop = poll(REFRESH_MS, async () => {
      try {
        const job = await api.job(jobId);
        // an operator typing corrected data keeps it: the actions are drawn again only when the state changes
        if (shown?.state !== job.state || shown.generation !== job.generation) renderActions(job);
        shown = job;
        renderBody(job);
        return !SETTLED.has(job.state);
      } catch (error) {
        replace(body, errorBox(error));
        return false;
      }
    });
  };

  const renderActions = (job: Job) => {
    const buttons: HTMLElement[] = [];
    if (job.state === 'failed') {
      const retry = h('button', { type: 'button', class: 'primary' }, 'Retry');
      retry.addEventListener('click', () =>
        busy(retry, async () => {
          notify((await api.retry(jobId)).message);
          refresh();
        }),
      );
      buttons.push(retry);
    }
    if (job.state === 'delayed') {
      const promote = h('button', { type: 'button', class: 'primary' }, 'Run now (promote)');
      promote.addEventListener('click', () =>
        busy(promote, async () => {
          notify((await api.promote(jobId)).message);
          refresh();
        }),
      );
      buttons.push(promote);
    }
    if (job.state !== 'active') {
      const discard = h('button', { type: 'button', class: 'danger' }, 'Discard');
      discard.addEventListener('click', async () => {
        const yes = await confirmDialog({ title: 'Discard job', body: [h('p', {}, `Discard job ${jobId}? It is removed for good.`)], confirm: 'Discard', danger: true });
        if (!yes) return;
        await busy(discard, async () => {
          notify((await api.remove(jobId)).message);
          location.hash = '#/failed';
        });
      });
      buttons.push(discard);
    }
    const editor: HTMLElement[] = [];
    if (job.state === 'failed') {
      const text = h('textarea', { id: 'retry-data', rows: 6, spellcheck: 'false' });
      text.value = json(job.data ?? null);
      const retryWith = h('button', { type: 'submit' }, 'Retry with this data');
      const form = h('form', { class: 'edit-data' }, h('label', { for: 'retry-data' }, 'Data for the retry (JSON)'), text, retryWith);
      form.addEventListener('submit', (event) => {
        event.preventDefault();
        let data: unknown;
        try {
          data = JSON.parse(text.value);
        } catch (error) {
          notify(`The data is not JSON: ${(error as Error).message}`, 'error');
          text.focus();
          return;
        }
        void busy(retryWith, async () => {
          notify((await api.retry(jobId, { data })).message);
          refresh();
        });
      });
      editor.push(h('details', {}, h('summary', {}, 'Retry with edited data'), form));
    }
    replace(actions, ...buttons, ...editor);
  };

  const renderBody = (job: Job) => {
    replace(
      body,
      facts(job),
      job.error ? section('Error', h('pre', { class: 'error-text', 'data-error': '' }, job.error)) : null,
      section('Executions and retries', timeline(job)),
      job.stacktrace ? section('Stack', h('pre', { class: 'stack' }, job.stacktrace)) : null,
      section('Data', h('pre', {}, json(job.data ?? null))),
      section('Options', h('pre', {}, json(job.opts))),
      job.returnValue !== undefined && job.returnValue !== null ? section('Result', h('pre', {}, json(job.returnValue))) : null,
    );
  };

  refresh();
  return () => stop();
};

