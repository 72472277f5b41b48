import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The repository root: the nearest folder above this file that holds
 * package-lock.json. Found by walking up rather than by a fixed `../` because
 * this file runs from infra/ under the tests and from a bundle under dist/
 * when cdk.json's app runs.
 */
const findProjectRoot = (from: string): string => {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package-lock.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`No package-lock.json above ${from}`);
  }
};

export const PROJECT_ROOT = findProjectRoot(__dirname);

/** The source file of a handler named in the route table. */
export const handlerEntry = (handler: string): string => path.join(PROJECT_ROOT, 'lambda', 'handlers', `${handler}.ts`);
