import type { Processor } from '../core/ports';
import type { ProcessorDefinition } from './define-processor';
import demoEcho from './demo-echo';
import demoFail from './demo-fail';
import demoFlaky from './demo-flaky';
import demoSleep from './demo-sleep';

/**
 * Every processor the worker knows, by job name. To add one: write
 * `lambda/processors/<name>.ts` with `defineProcessor('<job name>', ...)` and
 * list it here.
 */
const DEFINITIONS: readonly ProcessorDefinition<never>[] = [demoEcho, demoFail, demoFlaky, demoSleep];

const byName = new Map<string, Processor>(DEFINITIONS.map((d) => [d.name, d.process as Processor]));

export const findProcessor = (name: string): Processor | undefined => byName.get(name);
export const processorNames = (): string[] => [...byName.keys()];
