#!/usr/bin/env node
// `npx requeue`: bundle cli/main.ts (when a source of it changed) and run it in this process.
import { pathToFileURL } from 'node:url';
import { bundleOnDemand } from '../local/bundle-on-demand.mjs';

const bundle = await bundleOnDemand('cli/main.ts', 'dist/cli/requeue.mjs');
// the SDK's notice about its future Node.js support is noise on every command
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
await import(pathToFileURL(bundle).href);
