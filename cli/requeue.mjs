#!/usr/bin/env node
// `npx requeue`: bundle cli/main.ts and run it in this process. The bundle is
// rebuilt only when a file it was built from changed since (the list of them
// is kept beside it), and written under a temporary name and renamed, so
// commands started side by side never load a half-written file.
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const self = fileURLToPath(import.meta.url);
const root = path.resolve(path.dirname(self), '..');
const outfile = path.join(root, 'dist/cli/requeue.mjs');
const inputsFile = path.join(root, 'dist/cli/requeue.inputs.json');

const upToDate = async () => {
  try {
    const [bundle, inputs] = await Promise.all([stat(outfile), readFile(inputsFile, 'utf8')]);
    const sources = [self, ...JSON.parse(inputs).map((input) => path.join(root, input))];
    const changed = await Promise.all(sources.map(async (source) => (await stat(source)).mtimeMs > bundle.mtimeMs));
    return !changed.includes(true);
  } catch {
    // no bundle yet, or a source gone: build
    return false;
  }
};

if (!(await upToDate())) {
  const { build } = await import('esbuild');
  const staging = `${outfile}.${process.pid}.tmp`;
  const result = await build({
    entryPoints: [path.join(root, 'cli/main.ts')],
    absWorkingDir: root,
    outfile: staging,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'inline',
    metafile: true,
    logLevel: 'warning',
  });
  await writeFile(`${inputsFile}.${process.pid}.tmp`, JSON.stringify(Object.keys(result.metafile.inputs)));
  await rename(`${inputsFile}.${process.pid}.tmp`, inputsFile);
  await rename(staging, outfile);
}
// the SDK's notice about its future Node.js support is noise on every command
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
await import(pathToFileURL(outfile).href);
