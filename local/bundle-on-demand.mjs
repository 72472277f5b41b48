// Bundle a TypeScript entry of this project with esbuild, only when a file it
// was built from changed since (the list of them is kept beside the bundle).
// The bundle is written under a temporary name and renamed, so processes
// starting side by side (the end-to-end tests, commands run together) never
// load a half-written file. Plain JavaScript: `npm start` and `npx requeue`
// run it before anything is compiled.
import { existsSync } from 'node:fs';
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder holding package.json above this file: the project, whether this
 * file runs from local/ or inlined in a bundle under dist/.
 */
export const projectRoot = () => {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`No package.json above ${fileURLToPath(import.meta.url)}`);
  }
};

const upToDate = async (root, outfile, inputsFile) => {
  try {
    const [bundle, inputs] = await Promise.all([stat(outfile), readFile(inputsFile, 'utf8')]);
    // this file too: how a bundle is built is part of what it was built from
    const sources = [path.join(root, 'local/bundle-on-demand.mjs'), ...JSON.parse(inputs).map((input) => path.join(root, input))];
    const changed = await Promise.all(sources.map(async (source) => (await stat(source)).mtimeMs > bundle.mtimeMs));
    return !changed.includes(true);
  } catch {
    // no bundle yet, or a source gone: build
    return false;
  }
};

/** Bundle `entry` into `outfile` (both relative to the project) unless it is up to date; resolves to its full path. */
export const bundleOnDemand = async (entry, outfile) => {
  const root = projectRoot();
  const out = path.join(root, outfile);
  const inputsFile = out.replace(/\.m?js$/, '') + '.inputs.json';
  if (await upToDate(root, out, inputsFile)) return out;
  const { build } = await import('esbuild');
  const staging = `${out}.${process.pid}.tmp`;
  const result = await build({
    entryPoints: [path.join(root, entry)],
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
  await rename(staging, out);
  return out;
};
