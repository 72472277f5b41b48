import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/**
 * Integration tests run against whatever endpoint AWS_ENDPOINT_URL names
 * (LocalStack, say). Without one, start dynalite and fauxqs in a child
 * process and point the SDK at them.
 */
// npm start's own bundler. Global set-up runs outside jest's module registry, as plain
// Node, which requires an ES module from CommonJS from 20.19 on (package.json's engines).
const { bundleOnDemand } = require('../../local/bundle-on-demand.mjs') as typeof import('../../local/bundle-on-demand.mjs');

export default async function globalSetup(): Promise<void> {
  process.env.AWS_REGION ??= 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID ??= 'test';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
  // the Lambda target is Node 22; these machines run Node 20, and the SDK says so in every process
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  if (process.env.AWS_ENDPOINT_URL) return;

  const script = await bundleOnDemand('test/support/emulator-process.ts', 'dist/test/emulator-process.mjs');
  const child = spawn(process.execPath, [script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const first = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`emulators exited with code ${code} before starting`)));
    createInterface({ input: child.stdout! }).once('line', resolve);
  });
  const endpoints = JSON.parse(first) as { dynamoDb: string; sqs: string };
  process.env.AWS_ENDPOINT_URL_DYNAMODB = endpoints.dynamoDb;
  process.env.AWS_ENDPOINT_URL_SQS = endpoints.sqs;
  (globalThis as { __emulators?: typeof child }).__emulators = child;
}
