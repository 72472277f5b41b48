import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { JOB_CHANGES_COUNTER } from '../../lambda/routes';
import { loadHandler } from '../../local/handler-modules';
import { startStreamEventSource, type StreamHandler } from '../../local/stream-event-source';

export interface Counting {
  /** Resolves once every change written before the call is counted. */
  caughtUp(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The counting function fed by the table's stream, as `npm start` runs it:
 * the counters of a test's table follow its jobs only while this runs. Call
 * it after `freshResources` (the handler reads the table's name as it loads).
 */
export const startCounting = async (tableName = process.env.REQUEUE_TABLE_NAME!): Promise<Counting> => {
  const handler = await loadHandler<StreamHandler>(JOB_CHANGES_COUNTER.handler);
  const streams = new DynamoDBStreamsClient({ endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB });
  const source = startStreamEventSource({
    streams,
    tableName,
    region: process.env.AWS_REGION!,
    filter: JOB_CHANGES_COUNTER.filter,
    batchSize: JOB_CHANGES_COUNTER.batchSize,
    // no window: a test waits for the counts, never for a fuller batch
    batchingWindowMs: 0,
    handler,
    functionName: JOB_CHANGES_COUNTER.handler,
    timeoutMs: JOB_CHANGES_COUNTER.timeoutSeconds * 1000,
    idleMs: 5,
  });
  return {
    caughtUp: () => source.caughtUp(),
    stop: async () => {
      await source.stop();
      streams.destroy();
    },
  };
};
