import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ROOT } from './build';
import { removeDataDir, startLocalRuntime, STARTUP_BUDGET_MS, type LocalRuntime } from './local-runtime';

/** Debian's Chromium (`apt-get install chromium`; .ci/run installs it when missing). */
export const CHROMIUM = '/usr/bin/chromium';

/** Where the browser tests leave a screenshot of each page they visit (git-ignored). */
export const SCREENSHOTS = path.join(ROOT, 'test-results', 'screenshots');

/**
 * Headless Chromium with nothing of its own going on: no sandbox (CI runs as
 * root), no GPU, no network of its own (updates, sync, QUIC). launch() gives
 * it a fresh user-data-dir each time.
 */
export const launchChromium = async (): Promise<Browser> => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`The browser tests need Debian's Chromium at ${CHROMIUM}: apt-get update && apt-get install -y chromium (.ci/run does so)`);
  }
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
};

export const screenshotPath = (name: string): string => path.join(SCREENSHOTS, `${name}.png`);

/** A loaded machine may take its time; the dashboard's own refreshes come every 1-2 s. */
export const PAGE_WAIT_MS = 45_000;

/** A request a page made to the API: anything but the dashboard's own files. */
export interface ApiCall {
  readonly method: string;
  readonly path: string;
}

/** What a browser test file of the dashboard works with, filled in before its first test. */
export interface DashboardSession {
  readonly runtime: LocalRuntime;
  readonly browser: Browser;
  /** A page of a desktop's size, waiting up to PAGE_WAIT_MS for what it is told to wait for. */
  readonly page: Page;
  /** The page's uncaught errors and the errors it logged to its console. */
  readonly pageErrors: string[];
  readonly apiCalls: ApiCall[];
}

/**
 * For a browser test file: `npm start` and Chromium, started side by side
 * before its tests and stopped after them, and one page on the runtime whose
 * errors and API calls are recorded. Read the fields inside a test or a hook:
 * they are set once the file's beforeAll has run.
 */
export const dashboardSession = (): DashboardSession => {
  const session = { pageErrors: [] as string[], apiCalls: [] as ApiCall[] } as {
    runtime: LocalRuntime;
    browser: Browser;
    page: Page;
    pageErrors: string[];
    apiCalls: ApiCall[];
  };
  beforeAll(async () => {
    [session.runtime, session.browser] = await Promise.all([startLocalRuntime(), launchChromium()]);
    const page = await session.browser.newPage({ viewport: { width: 1280, height: 860 } });
    page.setDefaultTimeout(PAGE_WAIT_MS);
    page.on('pageerror', (error) => session.pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') session.pageErrors.push(message.text());
    });
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (!url.pathname.startsWith('/dashboard')) session.apiCalls.push({ method: request.method(), path: url.pathname });
    });
    session.page = page;
  }, STARTUP_BUDGET_MS + 30_000);
  afterAll(async () => {
    await session.browser?.close();
    await session.runtime?.kill();
    if (session.runtime) removeDataDir(session.runtime.dataDir);
  });
  return session;
};
