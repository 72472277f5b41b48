import './app.css';
import { apiKey, JOB_STATES, setApiKey, whenUnauthorized, type JobState } from './api';
import { h, replace } from './dom';
import { failedPage } from './pages/failed';
import { jobPage } from './pages/job';
import { overviewPage } from './pages/overview';
import { statePage } from './pages/states';
import { tasksPage } from './pages/tasks';
import { mountNotices } from './ui';

/**
 * The dashboard: one page, routed by the URL's hash (`#/failed`, `#/jobs/<id>`,
 * …), so it is served as three static files wherever it is served.
 */

const NAV: [string, string][] = [
  ['#/', 'Overview'],
  ['#/failed', 'Failed'],
  ['#/state/waiting', 'Waiting'],
  ['#/state/active', 'Active'],
  ['#/state/delayed', 'Delayed'],
  ['#/state/completed', 'Completed'],
  ['#/tasks', 'Tasks'],
];

const keyButton = h('button', { type: 'button', class: 'link' });
const nav = h('nav', { class: 'main-nav', 'aria-label': 'Pages' }, ...NAV.map(([href, label]) => h('a', { href }, label)));
const main = h('main', { id: 'main', tabindex: -1 });

const showKeyState = () => replace(keyButton, apiKey() ? 'API key: set (change)' : 'API key: none (set)');

/** The key the local API may demand (REQUEUE_API_KEY): asked once, kept for this tab only. */
const askForKey = (reason?: string) => {
  if (document.querySelector('dialog.api-key')) return;
  const input = h('input', { id: 'api-key', type: 'password', autocomplete: 'off', required: true });
  const save = h('button', { type: 'submit', value: 'save', class: 'primary' }, 'Use this key');
  const forget = h('button', { type: 'submit', value: 'forget', formnovalidate: true }, 'Forget the key');
  const cancel = h('button', { type: 'submit', value: 'cancel', formnovalidate: true }, 'Cancel');
  const dialog = h(
    'dialog',
    { class: 'api-key', 'aria-label': 'API key' },
    h(
      'form',
      { method: 'dialog' },
      h('h2', {}, 'API key'),
      reason ? h('p', { class: 'notice error' }, reason) : null,
      h('p', {}, 'Sent as Authorization: Bearer <key> with every request, and kept only in this tab (sessionStorage).'),
      h('div', { class: 'field' }, h('label', { for: 'api-key' }, 'Key (REQUEUE_API_KEY)'), input),
      h('div', { class: 'actions' }, save, forget, cancel),
    ),
  );
  dialog.addEventListener('close', () => {
    if (dialog.returnValue === 'save' && input.value) setApiKey(input.value);
    if (dialog.returnValue === 'forget') setApiKey(null);
    dialog.remove();
    showKeyState();
    if (dialog.returnValue === 'save' || dialog.returnValue === 'forget') route();
  });
  document.body.append(dialog);
  dialog.showModal();
  input.focus();
};

let leave: () => void = () => undefined;

const route = () => {
  leave();
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path = '/', search = ''] = hash.split('?');
  const params = new URLSearchParams(search);
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  for (const link of nav.querySelectorAll('a')) {
    const target = link.getAttribute('href')!.slice(1);
    if (target === path || (target !== '/' && path.startsWith(`${target}/`))) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  if (parts.length === 0) leave = overviewPage(main);
  else if (parts[0] === 'failed') leave = failedPage(main, params);
  else if (parts[0] === 'jobs' && parts[1]) leave = jobPage(main, parts[1]);
  else if (parts[0] === 'state' && JOB_STATES.includes(parts[1] as JobState)) leave = statePage(main, parts[1] as JobState, params);
  else if (parts[0] === 'tasks') leave = tasksPage(main);
  else {
    replace(main, h('h1', {}, 'Not found'), h('p', {}, 'No page here. ', h('a', { href: '#/' }, 'Go to the overview.')));
    leave = () => undefined;
  }
  document.title = `${main.querySelector('h1')?.textContent ?? 'requeue'} · requeue`;
};

keyButton.addEventListener('click', () => askForKey());
whenUnauthorized((error) => askForKey(error.message));

// the hash is the router's: the skip link moves the focus without changing it
const skip = h('a', { href: '#main', class: 'skip' }, 'Skip to the content');
skip.addEventListener('click', (event) => {
  event.preventDefault();
  main.focus();
});
document.body.append(skip, h('header', { class: 'top' }, h('a', { href: '#/', class: 'brand' }, 'requeue'), nav, keyButton));
mountNotices(document.body);
document.body.append(main);
showKeyState();
window.addEventListener('hashchange', () => {
  route();
  main.focus({ preventScroll: true });
});
route();
