import { ApiError } from './api';
import { h } from './dom';

/** Where the outcome of an action is told: the API's sentence when it refused, read out by screen readers. */
let notices: HTMLElement;

export const mountNotices = (parent: HTMLElement): void => {
  notices = h('div', { class: 'notices', role: 'status', 'aria-live': 'polite' });
  parent.append(notices);
};

/** How long a success notice stays. */
const NOTICE_MS = 10_000;

export const notify = (message: string, kind: 'ok' | 'error' = 'ok'): void => {
  const close = h('button', { type: 'button', class: 'link', 'aria-label': 'Dismiss' }, '×');
  const notice = h('p', { class: `notice ${kind}`, ...(kind === 'error' ? { role: 'alert' } : {}) }, h('span', {}, message), close);
  close.addEventListener('click', () => notice.remove());
  notices.append(notice);
  // a success is read and gone; an error stays until dismissed
  if (kind === 'ok') setTimeout(() => notice.remove(), NOTICE_MS);
  // only the latest few stay: an operator clicking through a list should not get a wall of them
  while (notices.children.length > 4) notices.firstElementChild!.remove();
};

export const messageOf = (error: unknown): string =>
  error instanceof ApiError ? error.message : `Something went wrong in the dashboard: ${String((error as Error)?.message ?? error)}`;

export const notifyError = (error: unknown): void => notify(messageOf(error), 'error');

/** An inline error where a page's content would be. */
export const errorBox = (error: unknown): HTMLElement => h('p', { class: 'notice error', role: 'alert' }, messageOf(error));

/**
 * A modal question: resolves true for the confirming button, false for Cancel
 * or Escape. `<dialog>` keeps the focus inside it and gives it back after.
 */
export const confirmDialog = (options: {
  title: string;
  body: (Node | string)[];
  confirm: string;
  danger?: boolean;
}): Promise<boolean> =>
  new Promise((resolve) => {
    const yes = h('button', { type: 'submit', value: 'yes', class: options.danger ? 'danger' : 'primary' }, options.confirm);
    const no = h('button', { type: 'submit', value: 'no' }, 'Cancel');
    const form = h('form', { method: 'dialog' }, h('h2', {}, options.title), ...options.body, h('div', { class: 'actions' }, yes, no));
    const dialog = h('dialog', { 'aria-label': options.title }, form);
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue === 'yes');
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
    no.focus();
  });

/** Runs `action` with `button` disabled, telling its outcome; a second click meanwhile does nothing. */
export const busy = async <T>(button: HTMLButtonElement, action: () => Promise<T>): Promise<T | undefined> => {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await action();
  } catch (error) {
    notifyError(error);
    return undefined;
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
};

/** Calls `tick` now and then every `ms` until stopped; a tick never overlaps the one before. */
export const poll = (ms: number, tick: () => Promise<boolean | void>): (() => void) => {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const run = async () => {
    if (stopped) return;
    let again: boolean | void = true;
    try {
      again = await tick();
    } catch {
      // the tick shows its own error; keep polling
    }
    if (!stopped && again !== false) timer = setTimeout(run, ms);
  };
  void run();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
};

export const section = (title: string, ...children: (Node | string | null | undefined | false)[]): HTMLElement =>
  h('section', { 'aria-label': title }, h('h2', {}, title), ...children);

export const loading = (): HTMLElement => h('p', { class: 'muted' }, 'Loading…');
