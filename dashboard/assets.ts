/**
 * The dashboard's files, for whoever serves it: the local runtime's API
 * Gateway emulation and `requeue dashboard` against a deployed API. The
 * browser code under dashboard/app/ is bundled by esbuild on the first call,
 * in memory, into one script and one style sheet; every later call is served
 * from that build.
 */
import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

export interface DashboardAsset {
  readonly contentType: string;
  readonly body: Buffer;
}

const ENTRY = path.join('dashboard', 'app', 'main.ts');

/**
 * The folder holding dashboard/app/. Run from source this file sits in
 * dashboard/; bundled (dist/local/main.mjs, a CLI bundle) it has no folder of
 * its own, so look up from the script that was started and from the working
 * directory, both inside the project when `npm start` or `npx requeue` runs.
 */
const findRoot = (): string => {
  const starts = [
    typeof __dirname === 'string' ? __dirname : undefined,
    process.argv[1] && existsSync(process.argv[1]) ? path.dirname(realpathSync(process.argv[1])) : undefined,
    process.cwd(),
  ];
  for (const start of starts) {
    if (start === undefined) continue;
    for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
      if (existsSync(path.join(dir, ENTRY))) return dir;
      if (path.dirname(dir) === dir) break;
    }
  }
  throw new Error(`The dashboard's source (${ENTRY}) was not found above ${starts.filter(Boolean).join(' or ')}`);
};

const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>requeue dashboard</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/dashboard/app.css">
<script defer src="/dashboard/app.js"></script>
</head>
<body>
<noscript>The requeue dashboard needs JavaScript.</noscript>
</body>
</html>
`;

const bundle = async (): Promise<Map<string, DashboardAsset>> => {
  const root = findRoot();
  const result = await build({
    entryPoints: { app: path.join(root, ENTRY) },
    outdir: path.join(root, 'dist', 'dashboard'),
    write: false,
    bundle: true,
    minify: true,
    format: 'iife',
    platform: 'browser',
    target: ['chrome110', 'firefox110', 'safari16'],
    logLevel: 'silent',
  });
  const assets = new Map<string, DashboardAsset>([
    ['/dashboard', { contentType: 'text/html; charset=utf-8', body: Buffer.from(page) }],
  ]);
  for (const file of result.outputFiles) {
    const name = path.basename(file.path);
    const contentType = name.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8';
    assets.set(`/dashboard/${name}`, { contentType, body: Buffer.from(file.contents) });
  }
  return assets;
};

let built: Promise<Map<string, DashboardAsset>> | undefined;

/**
 * The file for a path of the dashboard (`/dashboard`, `/dashboard/`,
 * `/dashboard/app.js`, `/dashboard/app.css`); undefined for any other path,
 * which is the API's to answer. A failed build is tried again on the next call.
 */
export async function dashboardAsset(urlPath: string): Promise<{ contentType: string; body: Buffer } | undefined> {
  const key = urlPath === '/dashboard/' ? '/dashboard' : urlPath;
  if (key !== '/dashboard' && !key.startsWith('/dashboard/')) return undefined;
  built ??= bundle().catch((error: unknown) => {
    built = undefined;
    throw error;
  });
  const asset = (await built).get(key);
  return asset && { contentType: asset.contentType, body: asset.body };
}
