import { ROUTES } from '../../lambda/routes';
import { createRouteMatcher } from '../../local/api-gateway';
import { dashboardSession, PAGE_WAIT_MS, screenshotPath } from '../support/browser';
import { eventually } from '../support/requeue-harness';
import { removeDataDir, startLocalRuntime, STARTUP_BUDGET_MS, type LocalRuntime } from '../support/local-runtime';

// The seed's workflow through the dashboard, in headless Chromium against `npm start`:
// jobs are enqueued over HTTP as a producer does, and everything an operator does
// goes through the page. Waits are on what the page shows, never on time.

const dashboard = dashboardSession();

const isRoute = createRouteMatcher(ROUTES);

const enqueue = async (body: unknown): Promise<string> => {
  const answer = await dashboard.runtime.request('POST', '/jobs', body);
  expect(answer.status).toBe(201);
  return answer.body.id;
};

const failedNamed = async (name: string) => (await dashboard.runtime.request('GET', `/jobs/failed?name=${name}&limit=1000`)).body as { id: string }[];

const untilFailed = (name: string, count: number) =>
  eventually(async () => (await failedNamed(name)).length === count, 30_000, `${count} failed ${name} job(s)`);

const open = async (hash: string) => {
  const { page, runtime } = dashboard;
  await page.goto(`${runtime.url}/dashboard${hash}`);
  await page.locator('main h1').waitFor();
};

/** Epoch ms as `<input type="datetime-local">` takes it: local time, to the second. */
const localInput = (epochMs: number): string => {
  const d = new Date(epochMs);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
};

/** Fills the failed page's filters and waits for the list they give. */
const filterFailed = async (filters: { name?: string; error?: string; since?: number }, rows: number) => {
  const { page } = dashboard;
  await open('#/failed');
  if (filters.name) await page.getByLabel('Name', { exact: true }).fill(filters.name);
  if (filters.error) await page.getByLabel('Error contains').fill(filters.error);
  if (filters.since !== undefined) await page.getByLabel('Failed since (local time)').fill(localInput(filters.since));
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await eventually(async () => (await page.locator('tr[data-job]').count()) === rows, PAGE_WAIT_MS, `${rows} rows`);
};

/** Presses Tab until the element named `name` has the focus. */
const tabTo = async (name: string) => {
  const { page } = dashboard;
  for (let presses = 0; presses < 40; presses++) {
    await page.keyboard.press('Tab');
    if ((await page.evaluate('document.activeElement?.textContent')) === name) return;
  }
  throw new Error(`Tab never reached ${name}`);
};

describe('the dashboard on npm start', () => {
  afterEach(() => {
    const { pageErrors, apiCalls } = dashboard;
    expect(pageErrors).toEqual([]);
    // the page calls the API's documented routes, and nothing else
    expect(apiCalls.length).toBeGreaterThan(0);
    expect(apiCalls.filter(({ method, path }) => !isRoute(method, path))).toEqual([]);
    apiCalls.length = 0;
  });

  it('shows a failed job with its error and history, retries it, and shows it completed', async () => {
    const { page, runtime } = dashboard;
    const id = await enqueue({ name: 'demo.flaky', data: { failTimes: 1 }, opts: { attempts: 1 } });
    await untilFailed('demo.flaky', 1);

    await open('#/');
    await page.locator('[data-state="failed"]').filter({ hasText: /^1$/ }).waitFor();
    await page.screenshot({ path: screenshotPath('overview'), fullPage: true });

    await open('#/failed');
    const row = page.locator(`tr[data-job="${id}"]`);
    await row.waitFor();
    expect(await row.locator('td.error-text').textContent()).toBe('Flaky failure 1 of 1');
    await page.screenshot({ path: screenshotPath('failed-jobs'), fullPage: true });

    await row.getByRole('link', { name: id }).click();
    await page.locator('[data-job-state="failed"]').waitFor();
    expect(await page.locator('[data-error]').textContent()).toBe('Flaky failure 1 of 1');
    expect(await page.locator('.timeline li').count()).toBe(1);
    expect(await page.locator('.timeline li[data-outcome="failed"]').textContent()).toContain('generation 0, attempt 1');
    await page.screenshot({ path: screenshotPath('job-failed'), fullPage: true });

    // by keyboard alone: Tab reaches Retry, its focus shows, Enter presses it
    await tabTo('Retry');
    expect(await page.evaluate('getComputedStyle(document.activeElement).outlineStyle')).toBe('solid');
    await page.keyboard.press('Enter');
    await page.getByText(`Job '${id}' has been queued for retry`).waitFor();
    await page.locator('[data-job-state="completed"]').waitFor();
    await page.locator('.timeline li[data-outcome="completed"]').waitFor();
    expect(await page.locator('.timeline li[data-retry-by="local"]').count()).toBe(1);
    await page.screenshot({ path: screenshotPath('job-completed'), fullPage: true });

    const job = (await runtime.request('GET', `/jobs/details/${id}`)).body;
    expect({ state: job.state, runs: job.history.map((run: { outcome: string }) => run.outcome) }).toEqual({
      state: 'completed',
      runs: ['failed', 'completed'],
    });
  });

  it('shows how many failed jobs a retry-all would take before it retries them', async () => {
    const { page, runtime } = dashboard;
    const startedAt = Date.now();
    const matching = [];
    for (let i = 0; i < 3; i++) matching.push(await enqueue({ name: 'demo.fail', data: { message: 'outage 42' }, opts: { attempts: 1 } }));
    const other = await enqueue({ name: 'demo.fail', data: { message: 'card declined' }, opts: { attempts: 1 } });
    await untilFailed('demo.fail', 4);

    // to the second, in local time: the page sends it as epoch ms
    const since = Math.floor(startedAt / 1000) * 1000;
    await filterFailed({ name: 'demo.fail', error: 'outage 42', since }, 3);
    expect(new URL(page.url()).hash).toContain(`since=${since}`);
    await page.getByRole('button', { name: 'Retry all matching…' }).click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.locator('[data-dry-run]').textContent()).toBe('3 failed jobs');
    expect(await dialog.textContent()).toContain('failed since');
    await page.screenshot({ path: screenshotPath('retry-all-dry-run'), fullPage: true });
    // the preview changed nothing
    for (const id of [...matching, other]) expect((await runtime.request('GET', `/jobs/details/${id}`)).body.retries).toEqual([]);

    await dialog.getByRole('button', { name: 'Retry 3 jobs' }).click();
    await page.getByText('Retry operation complete: 3 of 3 retried.').waitFor();
    for (const id of matching) {
      const job = (await runtime.request('GET', `/jobs/details/${id}`)).body;
      expect(job.retries).toEqual([expect.objectContaining({ source: 'api', by: 'local' })]);
    }
    expect((await runtime.request('GET', `/jobs/details/${other}`)).body.retries).toEqual([]);

    // the one that did not match: selected and discarded, after a confirmation
    await filterFailed({ name: 'demo.fail', error: 'card declined' }, 1);
    await page.getByRole('checkbox', { name: `Select job ${other}` }).check();
    await page.getByRole('button', { name: 'Discard selected (1)' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Discard 1 job' }).click();
    await page.getByText('Discarded 1 of 1 job.').waitFor();
    await page.getByText('No failed job matches.').waitFor();
    expect((await runtime.request('GET', `/jobs/details/${other}`)).status).toBe(404);
  });

  it('follows a paced retry task as it moves and cancels it', async () => {
    const { page, runtime } = dashboard;
    const total = 60;
    // no processor has this name: each fails at once, and again after its retry
    for (let i = 0; i < total; i++) await enqueue({ name: 'import.rows', data: { row: i }, opts: { attempts: 1 } });
    await untilFailed('import.rows', total);

    await filterFailed({ name: 'import.rows' }, 50);
    await page.getByRole('button', { name: 'Retry all matching…' }).click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.locator('[data-dry-run]').textContent()).toBe(`${total} failed jobs`);
    await dialog.getByLabel(/At most this many jobs a second/).fill('1');
    await dialog.getByRole('button', { name: `Retry ${total} jobs` }).click();

    await page.waitForURL(/#\/tasks$/);
    const card = page.locator('article[data-task]').first();
    await card.locator('[data-done]').waitFor();
    const done = async () => Number(await card.locator('[data-done]').getAttribute('data-done'));
    const first = await eventually(async () => (await done()) > 0 && (await done()), PAGE_WAIT_MS, 'the task to retry a first job');
    await eventually(async () => (await done()) > first, PAGE_WAIT_MS, 'the progress bar to move');
    expect(await card.getAttribute('data-status')).toBe('RUNNING');
    expect(Number(await card.locator('progress').getAttribute('value'))).toBeGreaterThan(0);
    await page.screenshot({ path: screenshotPath('tasks'), fullPage: true });

    await card.getByRole('button', { name: 'Cancel' }).click();
    await page.locator('article[data-task][data-status="CANCELLED"]').waitFor();
    const taskId = await card.getAttribute('data-task');
    const task = (await runtime.request('GET', `/jobs/retry-tasks/${taskId}`)).body;
    expect(task).toMatchObject({ status: 'CANCELLED', total, maxPerSecond: 1 });
    expect(task.retried).toBeGreaterThan(0);
    expect(task.retried).toBeLessThan(total);
    expect(await card.locator('[data-done]').getAttribute('data-done')).toBe(String(task.retried));
  });
});

describe('the dashboard on npm start with REQUEUE_API_KEY', () => {
  let keyed: LocalRuntime;

  beforeAll(async () => {
    keyed = await startLocalRuntime({ env: { REQUEUE_API_KEY: 'browser-key' } });
  }, STARTUP_BUDGET_MS + 5_000);

  afterAll(async () => {
    await keyed?.kill();
    if (keyed) removeDataDir(keyed.dataDir);
  });

  it('asks for the key with the API’s sentence, then sends it', async () => {
    const context = await dashboard.browser.newContext();
    const keyedPage = await context.newPage();
    keyedPage.setDefaultTimeout(PAGE_WAIT_MS);
    const failures: string[] = [];
    keyedPage.on('pageerror', (error) => failures.push(error.message));
    try {
      // the 401s the dashboard meets before it has the key are the browser's console errors here, as expected
      await keyedPage.goto(`${keyed.url}/dashboard#/`);
      const dialog = keyedPage.getByRole('dialog', { name: 'API key' });
      await dialog.getByText('Missing or wrong API key: send the header Authorization: Bearer <REQUEUE_API_KEY>.').waitFor();
      await dialog.getByLabel('Key (REQUEUE_API_KEY)').fill('browser-key');
      await dialog.getByRole('button', { name: 'Use this key' }).click();
      await keyedPage.locator('[data-state="total"]').filter({ hasText: /^0$/ }).waitFor();
      expect(await keyedPage.evaluate('sessionStorage.getItem("requeue.apiKey")')).toBe('browser-key');
      expect(failures).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
