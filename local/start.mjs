// `npm start`: bundle local/main.ts and run it in this process. The bundle is
// written under a temporary name and renamed, so runtimes starting side by
// side (the end-to-end tests) never load a half-written file.
import { rename } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outfile = path.join(root, 'dist/local/main.mjs');
const staging = `${outfile}.${process.pid}.tmp`;

await build({
  entryPoints: [path.join(root, 'local/main.ts')],
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
await import(pathToFileURL(outfile).href);
