import type { Processor } from '../core/ports';

export interface ProcessorDefinition<T = unknown> {
  /** The job name this processor runs, as producers enqueue it. */
  readonly name: string;
  readonly process: Processor<T>;
}

export const defineProcessor = <T = unknown>(name: string, process: Processor<T>): ProcessorDefinition<T> => ({
  name,
  process,
});
