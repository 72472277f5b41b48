import type { EventSource } from './event-source';

/** The states Lambda gives an SQS event source mapping that this stand-in goes through. */
export type MappingState = 'Enabled' | 'Disabling' | 'Disabled';

/** An event source mapping's configuration, as Lambda's GetEventSourceMapping answers it (the fields kept here). */
export interface MappingConfiguration {
  readonly UUID: string;
  readonly EventSourceArn: string;
  readonly FunctionArn: string;
  readonly BatchSize: number;
  readonly State: MappingState;
  /** Epoch seconds, as Lambda's REST JSON writes timestamps. */
  readonly LastModified: number;
  readonly StateTransitionReason: string;
}

/** Lambda's answer to a change while the mapping is between two states. */
export class MappingInUseError extends Error {
  override readonly name = 'ResourceInUseException';
}

export interface LocalEventSourceMappingOptions {
  readonly uuid: string;
  readonly eventSourceArn: string;
  readonly functionArn: string;
  readonly batchSize: number;
  readonly enabled: boolean;
  /** Starts the pollers, at construction when enabled and at each enable. */
  readonly start: () => EventSource;
  /** Told of each change of `Enabled` (the runtime keeps it across restarts). */
  readonly onChange?: (enabled: boolean) => void;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * What Lambda's UpdateEventSourceMapping with `Enabled` does to an SQS
 * event source, on the pollers of local/event-source.ts: disabling stops
 * them receiving and is `Disabling` until their long polls have ended (what
 * those bring goes back to the queue) and the batches they handed the
 * function are done (those jobs finish), then `Disabled`; enabling starts
 * them again. A change while `Disabling` is refused, as Lambda refuses
 * one while a mapping moves between states.
 */
export class LocalEventSourceMapping {
  private state: MappingState;
  private lastModified: number;
  private reason = 'USER_INITIATED';
  private source: EventSource | undefined;
  private draining: EventSource | undefined;
  private stopped: Promise<void> = Promise.resolve();
  private readonly now: () => number;

  constructor(private readonly options: LocalEventSourceMappingOptions) {
    this.now = options.now ?? Date.now;
    this.lastModified = this.now();
    this.state = options.enabled ? 'Enabled' : 'Disabled';
    if (options.enabled) this.source = options.start();
  }

  get uuid(): string {
    return this.options.uuid;
  }

  /** Batches the function is working on now, from pollers running or stopping. */
  get inFlight(): number {
    return (this.source?.inFlight ?? 0) + (this.draining?.inFlight ?? 0);
  }

  configuration(): MappingConfiguration {
    return {
      UUID: this.options.uuid,
      EventSourceArn: this.options.eventSourceArn,
      FunctionArn: this.options.functionArn,
      BatchSize: this.options.batchSize,
      State: this.state,
      LastModified: Math.floor(this.lastModified / 1000),
      StateTransitionReason: this.reason,
    };
  }

  /** UpdateEventSourceMapping's `Enabled`; answers the configuration as it is right after. */
  setEnabled(enabled: boolean): MappingConfiguration {
    if (this.state === 'Disabling') {
      throw new MappingInUseError(
        `The event source mapping ${this.options.uuid} is Disabling: its function is finishing the batches it has; try again once it is Disabled`,
      );
    }
    if (enabled === (this.state === 'Enabled')) return this.configuration();
    this.lastModified = this.now();
    this.reason = 'USER_INITIATED';
    if (enabled) {
      this.source = this.options.start();
      this.state = 'Enabled';
    } else {
      this.draining = this.source;
      this.source = undefined;
      this.state = 'Disabling';
      this.stopped = (this.draining?.drain() ?? Promise.resolve()).then(() => {
        this.draining = undefined;
        this.state = 'Disabled';
      });
    }
    this.options.onChange?.(enabled);
    return this.configuration();
  }

  /** Resolves once a disable has stopped the pollers (at once when none is under way). */
  settled(): Promise<void> {
    return this.stopped;
  }

  /** The runtime stopping: the pollers stop at once, whatever the state; resolves when their batches are done. */
  async stop(): Promise<void> {
    const sources = [this.source, this.draining];
    this.source = undefined;
    await Promise.all([...sources.map((source) => source?.stop()), this.stopped]);
  }
}
