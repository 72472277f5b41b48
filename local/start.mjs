// `npm start`: bundle local/main.ts (when a source of it changed) and run it in this process.
import { pathToFileURL } from 'node:url';
import { bundleOnDemand } from './bundle-on-demand.mjs';

await import(pathToFileURL(await bundleOnDemand('local/main.ts', 'dist/local/main.mjs')).href);
