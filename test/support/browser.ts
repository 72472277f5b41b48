import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { ROOT } from './build';

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
