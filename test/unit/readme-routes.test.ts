import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../infra/project-root';
import { ROUTES, routeKey } from '../../lambda/routes';

// The README's API table answers for every route of the route table, and names no route it does not have.

const apiTable = (): string[] => {
  const readme = readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## The API'), readme.indexOf('\n## ', readme.indexOf('## The API') + 1));
  return section.split('\n').filter((line) => line.startsWith('| `'));
};

/** `GET /jobs?state=…` and `GET /jobs/retry-tasks/{taskId}` alike: the method and path a row begins with. */
const rowKey = (row: string): string => /^\| `([A-Z]+ [^`?]+)/.exec(row)![1]!;

it('lists every route of lambda/routes.ts with its answers', () => {
  const rows = apiTable();
  expect(rows.length).toBeGreaterThan(0);
  const listed = new Set(rows.map(rowKey));
  expect(ROUTES.map(routeKey).filter((key) => !listed.has(key))).toEqual([]);
  for (const row of rows) expect(row).toMatch(/\| [^|]*\d{3}[^|]*\|$/);
});

it('lists no route the table does not have', () => {
  const routes = new Set(ROUTES.map(routeKey));
  expect(apiTable().map(rowKey).filter((key) => !routes.has(key))).toEqual([]);
});
