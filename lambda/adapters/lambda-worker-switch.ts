import {
  GetEventSourceMappingCommand,
  ResourceInUseException,
  UpdateEventSourceMappingCommand,
  type LambdaClient,
} from '@aws-sdk/client-lambda';
import { WorkerSwitchBusyError } from '../core/errors';
import type { WorkerSourceStatus, WorkerSwitch } from '../core/ports';
import { createLambdaClient } from './aws-clients';
import { rethrowSdkError } from './dependency-errors';

/** Lambda stops polling in `Disabling`; the batches already handed to the worker finish. */
const PAUSED_STATES = new Set(['Disabled', 'Disabling']);

const statusOf = (state: string | undefined): WorkerSourceStatus => {
  const known = state ?? 'Unknown';
  return { paused: PAUSED_STATES.has(known), state: known };
};

/** The worker's SQS event source mapping as the switch: `Enabled: false` pauses it. */
export class LambdaWorkerSwitch implements WorkerSwitch {
  private readonly lambda: LambdaClient;

  constructor(private readonly props: { readonly mappingUuid: string; readonly client?: LambdaClient }) {
    this.lambda = props.client ?? createLambdaClient();
  }

  async status(): Promise<WorkerSourceStatus> {
    try {
      const { State } = await this.lambda.send(new GetEventSourceMappingCommand({ UUID: this.props.mappingUuid }));
      return statusOf(State);
    } catch (error) {
      return rethrowSdkError(error, 'Lambda');
    }
  }

  async setPaused(paused: boolean): Promise<WorkerSourceStatus> {
    try {
      const { State } = await this.lambda.send(
        new UpdateEventSourceMappingCommand({ UUID: this.props.mappingUuid, Enabled: !paused }),
      );
      return statusOf(State);
    } catch (error) {
      // Lambda refuses a change while the mapping is Enabling, Disabling or Updating
      if (error instanceof ResourceInUseException) {
        throw new WorkerSwitchBusyError(
          "The worker's event source is changing state and takes no other change until it is done; try again in a few seconds",
          { cause: error },
        );
      }
      return rethrowSdkError(error, 'Lambda');
    }
  }
}
