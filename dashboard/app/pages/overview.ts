import { api, JOB_STATES, type Metrics } from '../api';
import { throughputChart } from '../chart';
import { h, replace } from '../dom';
import { time } from '../format';
import { busy, errorBox, loading, notify, poll, section } from '../ui';

const REFRESH_MS = 2_000;

/** The counts, drawn once and then updated in place, so a link under the keyboard stays. */
const countList = () => {
  const numbers = new Map<string, HTMLElement>();
  const item = (state: string, link: boolean) => {
    const n = h('span', { class: 'n', 'data-state': state }, '…');
    numbers.set(state, n);
    const label = h('span', {}, state);
    return h('li', { class: `count ${state}` }, link ? h('a', { href: `#/state/${state}` }, n, label) : h('div', {}, n, label));
  };
  const element = h('ul', { class: 'counts', 'aria-label': 'Jobs per state' }, ...JOB_STATES.map((state) => item(state, true)), item('total', false));
  const update = (metrics: Metrics) => {
    for (const state of JOB_STATES) numbers.get(state)!.textContent = String(metrics[state]);
    numbers.get('total')!.textContent = String(metrics.total);
  };
  return { element, update };
};

const depths = (metrics: Metrics) =>
  h(
    'table',
    {},
    h('caption', { class: 'visually-hidden' }, 'Messages in the queues'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'queue'), h('th', { scope: 'col' }, 'visible'), h('th', { scope: 'col' }, 'in flight'), h('th', { scope: 'col' }, 'delayed'))),
    h(
      'tbody',
      {},
      ...([
        ['main', metrics.queues.main],
        ['dead-letter', metrics.queues.deadLetter],
      ] as const).map(([name, depth]) =>
        h('tr', {}, h('th', { scope: 'row' }, name), h('td', {}, depth.visible), h('td', {}, depth.inFlight), h('td', {}, depth.delayed)),
      ),
    ),
  );

const throughput = (metrics: Metrics) => {
  const done = metrics.throughput.reduce((sum, m) => sum + m.completed, 0);
  const failed = metrics.throughput.reduce((sum, m) => sum + m.failed, 0);
  const minutes = metrics.throughput.length;
  return h(
    'figure',
    { class: 'throughput' },
    throughputChart(metrics.throughput),
    h(
      'figcaption',
      {},
      h('span', { class: 'swatch completed', 'aria-hidden': 'true' }),
      ` ${done} completed`,
      h('span', { class: 'swatch failed', 'aria-hidden': 'true' }),
      ` ${failed} failed in the last ${minutes} minutes (${(done / Math.max(1, minutes)).toFixed(1)} completed a minute)`,
    ),
  );
};

export const overviewPage = (main: HTMLElement): (() => void) => {
  const worker = h('div', { class: 'worker' });
  const counts = countList();
  const queues = h('div', {}, loading());
  const chart = h('div', {});
  const problem = h('div', {});
  const updated = h('p', { class: 'muted' });
  replace(
    main,
    h('h1', {}, 'Overview'),
    problem,
    worker,
    section('Jobs', counts.element),
    section('Queues', queues),
    section('Completed and failed per minute', chart),
    updated,
  );

  const renderWorker = (state: { paused?: boolean; pausedBy?: string; pausedAt?: number }) => {
    const paused = state.paused === true;
    const button = h('button', { type: 'button' }, paused ? 'Resume worker' : 'Pause worker');
    button.addEventListener('click', () =>
      busy(button, async () => {
        const answer = paused ? await api.resume() : await api.pause();
        notify(answer.message);
        renderWorker(answer);
        // the button was drawn anew: the keyboard stays on it
        worker.querySelector('button')?.focus();
      }),
    );
    replace(
      worker,
      h(
        'p',
        {},
        'Worker: ',
        h('strong', { class: paused ? 'worker-paused' : 'worker-running', 'data-worker': paused ? 'paused' : 'running' }, paused ? 'paused' : 'running'),
        paused && state.pausedBy ? [` by ${state.pausedBy} `, time(state.pausedAt)] : '',
        paused ? ' — jobs wait in the queue' : '',
      ),
      button,
    );
  };

  return poll(REFRESH_MS, async () => {
    try {
      const metrics = await api.metrics();
      if (!worker.contains(document.activeElement)) renderWorker(metrics);
      counts.update(metrics);
      replace(queues, depths(metrics));
      replace(chart, throughput(metrics));
      replace(problem);
      replace(updated, 'Refreshes every 2 s. Updated ', time(Date.now()), '.');
    } catch (error) {
      replace(problem, errorBox(error));
    }
  });
};
