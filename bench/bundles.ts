// Each function's bundle, built as the stack builds it, and its cold import: `require()` in a fresh Node process with
// source maps on, as on Lambda, against a bare handler's, the floor. Alone: `npm run bench:bundles [-- --format=json]`.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { Duration } from 'aws-cdk-lib';
import { build, type BuildOptions } from 'esbuild';
import { PROJECT_ROOT, handlerEntry } from '../infra/project-root';
import { BUNDLING } from '../infra/requeue-function';
import { functionEnvironment } from '../infra/requeue-stack';
import { RECONCILER, ROUTES, TASK_RUNNER, WORKER } from '../lambda/routes';
import { summarize } from './load';
import { runBench } from './options';
import { fixed, table } from './report';

// the options NodejsFunction hands esbuild (forceDockerBundling says where it runs); one not mapped here would bundle
// otherwise
const { forceDockerBundling: _where, format, sourceMap, externalModules, ...sameNames } = BUNDLING;
const { target, minify, sourcesContent, mainFields, ...unmapped } = sameNames;
if (Object.keys(unmapped).length > 0) throw new Error(`bench/bundles.ts misses option(s) ${Object.keys(unmapped)}`);
const ESBUILD: BuildOptions = {
  bundle: true,
  platform: 'node',
  logLevel: 'warning',
  target,
  minify,
  sourcesContent,
  mainFields,
  format: format as BuildOptions['format'],
  sourcemap: sourceMap ? 'linked' : false,
  external: externalModules,
};

/** The environment the stack gives its functions, and what Lambda adds: nothing is called at import, so values only
 * need to parse. */
const queue = (name: string) => `https://sqs.us-east-1.amazonaws.com/000000000000/${name}`;

const COLD_START_ENV = {
  PATH: process.env.PATH,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  POWERTOOLS_SERVICE_NAME: 'requeue',
  ...functionEnvironment({
    tableName: 'bench-jobs',
    queueUrl: queue('bench'),
    deadLetterQueueUrl: queue('bench-dlq'),
    taskQueueUrl: queue('bench-tasks'),
    visibilityTimeout: Duration.minutes(30),
    workerMappingUuid: '00000000-0000-4000-8000-000000000000',
  }),
};

const IMPORT_ONCE = `const start = performance.now(); const mod = require(process.argv[1]);
const ms = performance.now() - start;
if (typeof mod.handler !== 'function') throw new Error(process.argv[1] + ' exports no handler');
process.stdout.write(String(ms));`;

const OUT_DIR = path.join(PROJECT_ROOT, 'dist', 'bench', 'bundles');

const timeImport = (file: string, runs: number) =>
  summarize(Array.from({ length: runs }, () => {
    try {
      const args = ['--enable-source-maps', '-e', IMPORT_ONCE, file];
      return Number(execFileSync(process.execPath, args, { env: COLD_START_ENV, encoding: 'utf8', stdio: 'pipe' }));
    } catch (error) {
      const { stderr = String(error) } = error as { stderr?: string };
      const message = stderr.split('\n').find((line) => /Error\b/.test(line)) ?? stderr;
      throw new Error(`${path.relative(PROJECT_ROOT, file)} failed to import: ${message}`);
    }
  }));

export const measureBundles = async (runs: number) => {
  rmSync(OUT_DIR, { recursive: true, force: true });
  mkdirSync(OUT_DIR, { recursive: true });
  writeFileSync(path.join(OUT_DIR, 'bare.js'), 'exports.handler = async () => ({ statusCode: 200 });\n');
  const bare = timeImport(path.join(OUT_DIR, 'bare.js'), runs);
  const handlers = [];
  for (const handler of [...ROUTES.map((r) => r.handler), WORKER.handler, TASK_RUNNER.handler, RECONCILER.handler]) {
    const file = path.join(OUT_DIR, handler, 'index.js');
    await build({ ...ESBUILD, entryPoints: [handlerEntry(handler)], outfile: file });
    const coldImport = timeImport(file, runs);
    const sizes = { bytes: statSync(file).size, gzipBytes: gzipSync(readFileSync(file)).length };
    const overBareMs = Math.round((coldImport.medianMs - bare.medianMs) * 10) / 10;
    handlers.push({ handler, ...sizes, sourceMapBytes: statSync(`${file}.map`).size, coldImport, overBareMs });
  }
  return { node: process.version, runs, bare, handlers };
};
export type BundleReport = Awaited<ReturnType<typeof measureBundles>>;

export const formatBundles = (r: BundleReport): string[] => {
  const kib = (bytes: number) => `${fixed(bytes / 1024, 1)} KiB`;
  return [
    `Each function bundled as the stack bundles it, then \`require()\`d in a fresh Node ${r.node} process, median of`,
    `${r.runs}.\n`,
    ...table([
      ['handler', 'index.js', 'gzipped', 'cold import (median)', 'over a bare handler'],
      ['(bare handler)', '', '', `${r.bare.medianMs} ms`, ''],
      ...r.handlers.map((h) => {
        return [h.handler, kib(h.bytes), kib(h.gzipBytes), `${h.coldImport.medianMs} ms`, `+${h.overBareMs} ms`];
      }),
    ]),
  ];
};

// `npm run bench` imports this module for measureBundles: it runs as a bench only when it is the entry point
if (require.main === module) {
  const KNOBS = {
    runs: { env: 'BENCH_BUNDLE_RUNS', fallback: 7, help: 'cold imports per handler' },
    format: { env: 'BENCH_BUNDLES_FORMAT', fallback: 'table', help: 'table, or json for machine-readable output' },
  };
  void runBench('bench:bundles', KNOBS, async ({ runs, format }) => {
    const report = await measureBundles(runs);
    const text = format === 'json' ? JSON.stringify(report, null, 2) : formatBundles(report).join('\n');
    process.stdout.write(`${text}\n`);
  });
}
