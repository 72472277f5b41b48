#!/usr/bin/env node
// `npx requeue`: bundle cli/main.ts and run it in this process. The bundle is
// written under a temporary name and renamed, so commands started side by side
// never load a half-written file.
import { rename } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outfile = path.join(root, 'dist/cli/requeue.mjs');
const staging = `${outfile}.${process.pid}.tmp`;

await build({
  entryPoints: [path.join(root, 'cli/main.ts')],
  outfile: staging,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'inline',
  logLevel: 'warning',
});
await rename(staging, outfile);
// the SDK's notice about its future Node.js support is noise on every command
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
await import(pathToFileURL(outfile).href);
