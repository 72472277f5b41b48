import { build } from 'esbuild';
import path from 'node:path';
import { ROOT } from '../../local/launcher';

export { ROOT };

/** Bundle a TypeScript entry to an ES module under dist/ (dependencies stay external). */
export const bundleForNode = async (entry: string, outfile: string): Promise<string> => {
  const out = path.join(ROOT, outfile);
  await build({
    entryPoints: [path.join(ROOT, entry)],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'inline',
    logLevel: 'warning',
  });
  return out;
};
