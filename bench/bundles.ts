/**
 * Bundle size and cold-import time of each function, against a bare handler.
 *
 * Each handler is bundled with esbuild exactly as the stack bundles it
 * (BUNDLING in infra/requeue-function.ts), then required in a fresh Node
 * process, with source maps enabled as on Lambda, several times over; the
 * median is reported. A bare handler (one exported async function) measured
 * the same way is the floor: the difference is what our code and its
 * dependencies cost a cold start, before any network call.
 *
 * Run alone: `npm run bench:bundles` (add `-- --format=json` for machine-readable output).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { Duration } from 'aws-cdk-lib';
import type { BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import { build, type BuildOptions } from 'esbuild';
import { RECONCILER, ROUTES, TASK_RUNNER, WORKER } from '../lambda/routes';
import { PROJECT_ROOT, handlerEntry } from '../infra/project-root';
import { BUNDLING } from '../infra/requeue-function';
import { functionEnvironment } from '../infra/requeue-stack';
import { summarize, type Latency } from './load';
import { runBench } from './options';
import { fixed, table } from './report';

/** Times of `require()` of a bundle in a fresh process. */
export type ImportTiming = Latency;

export interface BundleFigures {
  readonly handler: string;
  /** index.js as deployed. */
  readonly bytes: number;
  /** index.js gzipped: close to what it adds to the deployment zip. */
  readonly gzipBytes: number;
  readonly sourceMapBytes: number;
  readonly coldImport: ImportTiming;
  /** coldImport.medianMs less the bare handler's. */
  readonly overBareMs: number;
}

export interface BundleReport {
  readonly node: string;
  readonly runs: number;
  readonly bare: ImportTiming;
  readonly handlers: readonly BundleFigures[];
}

const OUT_DIR = path.join(PROJECT_ROOT, 'dist', 'bench', 'bundles');

/** The esbuild options NodejsFunction derives from BUNDLING (it passes them to the esbuild CLI). */
const esbuildOptions = (bundling: BundlingOptions): BuildOptions => {
  const understood = new Set([
    'forceDockerBundling',
    'format',
    'target',
    'minify',
    'sourceMap',
    'sourcesContent',
    'externalModules',
    'mainFields',
  ]);
  const unknown = Object.keys(bundling).filter((key) => !understood.has(key));
  if (unknown.length) throw new Error(`bench/bundles.ts does not reproduce bundling option(s) ${unknown.join(', ')} yet`);
  return {
    bundle: true,
    platform: 'node',
    format: bundling.format as BuildOptions['format'],
    target: bundling.target,
    minify: bundling.minify,
    sourcemap: bundling.sourceMap ? 'linked' : false,
    sourcesContent: bundling.sourcesContent,
    external: bundling.externalModules,
    mainFields: bundling.mainFields,
    logLevel: 'warning',
  };
};

/**
 * The environment the stack gives its functions, and what Lambda adds; nothing
 * is called at import, so the values only need to parse.
 */
const COLD_START_ENV = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  POWERTOOLS_SERVICE_NAME: 'requeue',
  ...functionEnvironment({
    tableName: 'bench-jobs',
    queueUrl: 'https://sqs.us-east-1.amazonaws.com/000000000000/bench',
    deadLetterQueueUrl: 'https://sqs.us-east-1.amazonaws.com/000000000000/bench-dlq',
    taskQueueUrl: 'https://sqs.us-east-1.amazonaws.com/000000000000/bench-tasks',
    visibilityTimeout: Duration.minutes(30),
    workerMappingUuid: '00000000-0000-4000-8000-000000000000',
  }),
};

const IMPORT_ONCE = `
const { performance } = require('node:perf_hooks');
const start = performance.now();
const mod = require(process.argv[1]);
const ms = performance.now() - start;
if (typeof mod.handler !== 'function') throw new Error(process.argv[1] + ' exports no handler');
process.stdout.write(String(ms));
`;

const run = promisify(execFile);

const timeImport = async (file: string, runs: number): Promise<ImportTiming> => {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const { stdout } = await run(process.execPath, ['--enable-source-maps', '-e', IMPORT_ONCE, file], {
      env: { PATH: process.env.PATH, ...COLD_START_ENV },
    }).catch((error: { stderr?: string }) => {
      const reason = (error.stderr ?? String(error)).split('\n').find((line) => /Error\b/.test(line));
      throw new Error(`${path.relative(PROJECT_ROOT, file)} failed to import: ${reason ?? error.stderr}`);
    });
    samples.push(Number(stdout));
  }
  return summarize(samples);
};

const bundle = async (handler: string): Promise<string> => {
  const outfile = path.join(OUT_DIR, handler, 'index.js');
  await build({ ...esbuildOptions(BUNDLING), entryPoints: [handlerEntry(handler)], outfile });
  return outfile;
};

export const measureBundles = async (options: { runs?: number } = {}): Promise<BundleReport> => {
  const runs = options.runs ?? 7;
  rmSync(OUT_DIR, { recursive: true, force: true });
  mkdirSync(OUT_DIR, { recursive: true });

  const bareFile = path.join(OUT_DIR, 'bare.js');
  writeFileSync(bareFile, 'exports.handler = async () => ({ statusCode: 200 });\n');
  const bare = await timeImport(bareFile, runs);

  const handlers = [...ROUTES.map((r) => r.handler), WORKER.handler, TASK_RUNNER.handler, RECONCILER.handler];
  const figures: BundleFigures[] = [];
  for (const handler of handlers) {
    const file = await bundle(handler);
    const coldImport = await timeImport(file, runs);
    figures.push({
      handler,
      bytes: statSync(file).size,
      gzipBytes: gzipSync(readFileSync(file)).length,
      sourceMapBytes: statSync(`${file}.map`).size,
      coldImport,
      overBareMs: Math.round((coldImport.medianMs - bare.medianMs) * 10) / 10,
    });
  }
  return { node: process.version, runs, bare, handlers: figures };
};

const kib = (bytes: number) => `${fixed(bytes / 1024, 1)} KiB`;

export const formatBundles = (report: BundleReport): string =>
  [
    `Bundles as the stack builds them; require() in a fresh Node ${report.node} process with --enable-source-maps, median of ${report.runs}.`,
    '',
    ...table([
      ['handler', 'index.js', 'gzipped', 'source map', 'cold import (median)', 'min–max', 'over bare'],
      ['(bare handler)', '', '', '', `${report.bare.medianMs} ms`, `${report.bare.minMs}–${report.bare.maxMs} ms`, ''],
      ...report.handlers.map((h) => [
        h.handler,
        kib(h.bytes),
        kib(h.gzipBytes),
        kib(h.sourceMapBytes),
        `${h.coldImport.medianMs} ms`,
        `${h.coldImport.minMs}–${h.coldImport.maxMs} ms`,
        `+${h.overBareMs} ms`,
      ]),
    ]),
  ].join('\n');

const KNOBS = {
  runs: { env: 'BENCH_BUNDLE_RUNS', fallback: 7, help: 'cold imports per handler' },
  format: { env: 'BENCH_BUNDLES_FORMAT', fallback: 'table', help: 'table, or json for machine-readable output' },
};

// `npm run bench` imports this module for measureBundles: it runs as a bench only when it is the entry point
if (require.main === module) {
  runBench('bench:bundles', KNOBS, async ({ runs, format }) => {
    const report = await measureBundles({ runs });
    process.stdout.write(`${format === 'json' ? JSON.stringify(report, null, 2) : formatBundles(report)}\n`);
  });
}
