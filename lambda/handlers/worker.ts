import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { processJobMessage, type WorkerDeps } from '../core/process-job-message';
import type { HiddenMessage } from '../core/ports';
import { findProcessor } from '../processors';
import { services } from '../adapters/services';
import { logger } from './logger';

const { store, queue, config } = services();
const deps: WorkerDeps = { store, queue, findProcessor, log: logger, leaseMs: config.visibilityTimeoutMs, defaultTimeoutMs: config.defaultJobTimeoutMs };

/** Reported as a batch item failure so the message, hidden for a while, comes back. */
class ReturnLater extends Error {
  override readonly name = 'ReturnLater';
}

const handleRecord = (context: Context, returns: HiddenMessage[]) => async (record: SQSRecord): Promise<void> => {
  const outcome = await processJobMessage(deps, record.body, context.getRemainingTimeInMillis());
  if (outcome.kind === 'delete') return;
  returns.push({ receiptHandle: record.receiptHandle, delayMs: outcome.delayMs });
  throw new ReturnLater(`Message returns in ${outcome.delayMs} ms`);
};

export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  // a processor holds its batch's records and failures until it answers, so one per invocation: the local
  // pollers run invocations of this module side by side, as Lambda Managed Instances do
  const processor = new BatchProcessor(EventType.SQS);
  const returns: HiddenMessage[] = [];
  try {
    return await processPartialResponse(event, handleRecord(context, returns), processor, { context, throwOnFullBatchFailure: false });
  } finally {
    // the messages held until their jobs are due, in one request per 10 (a batch's worth): the records stay in
    // flight until the invocation answers, and a message not hidden comes back after the visibility timeout
    if (returns.length > 0) {
      await queue.hide(returns).catch((error: unknown) => logger.warn('Could not hide messages until their jobs are due', { error: error as Error }));
    }
  }
};
