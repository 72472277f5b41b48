/**
 * The dashboard's files, for whoever serves it (`requeue dashboard`). One
 * page for now: the counts per state, read from the API's metrics.
 */

export interface DashboardAsset {
  readonly contentType: string;
  readonly body: Buffer;
}

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>requeue dashboard</title>
</head>
<body>
<h1>requeue</h1>
<pre id="metrics">Loading the metrics…</pre>
<script>
fetch('/jobs/metrics')
  .then((response) => response.json())
  .then((metrics) => { document.getElementById('metrics').textContent = JSON.stringify(metrics, null, 2); })
  .catch((error) => { document.getElementById('metrics').textContent = String(error); });
</script>
</body>
</html>
`;

/** The file at `urlPath` (`/dashboard`, `/dashboard/...`), or undefined when there is none. */
export async function dashboardAsset(urlPath: string): Promise<DashboardAsset | undefined> {
  if (urlPath === '/dashboard' || urlPath === '/dashboard/') return { contentType: 'text/html; charset=utf-8', body: Buffer.from(PAGE) };
  return undefined;
}
