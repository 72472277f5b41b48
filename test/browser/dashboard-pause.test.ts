import { ROUTES } from '../../lambda/routes';
import { createRouteMatcher } from '../../local/api-gateway';
import { dashboardSession, PAGE_WAIT_MS, screenshotPath } from '../support/browser';
import { eventually } from '../support/requeue-harness';

// Pausing and resuming the worker from the dashboard's overview, in headless Chromium against `npm start`.

const dashboard = dashboardSession();

it('pauses the worker, shows who did, holds jobs waiting, and resumes it', async () => {
  const { page, runtime, pageErrors, apiCalls } = dashboard;
  await page.goto(`${runtime.url}/dashboard#/`);
  await page.locator('[data-worker="running"]').waitFor();
  await page.getByRole('button', { name: 'Pause worker' }).click();
  await page.locator('[data-worker="paused"]').waitFor();
  await page.locator('.worker').getByText('by local').waitFor();
  expect((await runtime.request('GET', '/jobs/metrics')).body).toMatchObject({ paused: true, pausedBy: 'local' });

  const enqueued = await runtime.request('POST', '/jobs', { name: 'demo.echo' });
  expect(enqueued.status).toBe(201);
  await page.locator('[data-state="waiting"]').filter({ hasText: /^1$/ }).waitFor();
  await page.screenshot({ path: screenshotPath('overview-paused'), fullPage: true });

  await page.getByRole('button', { name: 'Resume worker' }).click();
  await page.locator('[data-worker="running"]').waitFor();
  await page.locator('[data-state="completed"]').filter({ hasText: /^1$/ }).waitFor();
  await eventually(
    async () => (await runtime.request('GET', `/jobs/details/${enqueued.body.id}`)).body.state === 'completed',
    PAGE_WAIT_MS,
    'the job to run once the worker is back',
  );
  expect((await runtime.request('GET', '/jobs/metrics')).body.paused).toBe(false);
  expect(pageErrors).toEqual([]);
  // POST /jobs/pause and /jobs/resume among them: routes of the table like every other
  const isRoute = createRouteMatcher(ROUTES);
  expect(apiCalls.filter(({ method, path }) => !isRoute(method, path))).toEqual([]);
  expect(apiCalls.filter(({ method }) => method === 'POST').map(({ path }) => path)).toEqual(['/jobs/pause', '/jobs/resume']);
});
