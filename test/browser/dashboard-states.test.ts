import { PAGE_ENTRY_BUDGET } from '../../lambda/adapters/dynamodb-job-listings';
import { dashboardSession, screenshotPath } from '../support/browser';

// A state's page in headless Chromium against `npm start`, when the state is
// rare among the pending jobs: its first API page comes back empty with a
// cursor, and the page reads on to the job rather than saying there is none.

const dashboard = dashboardSession();

/** More waiting jobs than one API page examines, all newer than the delayed one. */
const WAITING = PAGE_ENTRY_BUDGET + 50;
const IN_FLIGHT = 16;
/** A thousand enqueues over HTTP, on a machine that may be busy. */
const BUDGET_MS = 180_000;

it('shows a delayed job behind more waiting jobs than one API page examines', async () => {
  const { page, runtime, pageErrors } = dashboard;
  const post = async (route: string, body?: unknown) => {
    const answer = await runtime.request('POST', route, body);
    expect(answer.status).toBeLessThan(300);
    return answer.body;
  };
  await post('/jobs/pause');
  const delayed = await post('/jobs', { name: 'demo.echo', opts: { delay: 3_600_000 } });
  let next = 0;
  const lane = async () => {
    while (next < WAITING) {
      next++;
      await post('/jobs', { name: 'demo.echo' });
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));

  // the API's own first page of the listing holds nothing yet hands on a cursor
  const first = await runtime.request('GET', '/jobs?state=delayed&limit=50');
  expect({ items: first.body, cursor: typeof first.headers.get('x-next-cursor') }).toEqual({ items: [], cursor: 'string' });

  await page.goto(`${runtime.url}/dashboard#/state/delayed`);
  await page.locator(`tr[data-job="${delayed.id}"]`).waitFor();
  expect(await page.locator('tr[data-job]').count()).toBe(1);
  await page.screenshot({ path: screenshotPath('delayed-behind-waiting'), fullPage: true });
  expect(pageErrors).toEqual([]);
}, BUDGET_MS);
