import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { processJobMessage, type WorkerDeps } from '../core/process-job-message';
import { findProcessor } from '../processors';
import { services } from '../adapters/services';
import { logger } from './logger';

const { store, queue, config } = services();
const deps: WorkerDeps = {
  store,
  queue,
  findProcessor,
  log: logger,
  leaseMs: config.visibilityTimeoutMs,
  defaultTimeoutMs: config.defaultJobTimeoutMs,
};

/** Reported as a batch item failure so the message, hidden for a while, comes back. */
class ReturnLater extends Error {
  constructor(delayMs: number) {
    super(`Message returns in ${delayMs} ms`);
    this.name = 'ReturnLater';
  }
}

const handleRecord = (context: Context) => async (record: SQSRecord): Promise<void> => {
  const outcome = await processJobMessage(deps, record.body, context.getRemainingTimeInMillis());
  if (outcome.kind === 'delete') return;
  // if hiding fails the message still comes back, after the queue's visibility timeout
  await queue.hide(record.receiptHandle, outcome.delayMs).catch((error: unknown) =>
    logger.warn('Could not hide a message until its job is due', { error: error as Error }),
  );
  throw new ReturnLater(outcome.delayMs);
};

export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  // a processor holds its batch's records and failures until it answers, so one per invocation: the local
  // pollers run invocations of this module side by side, as Lambda Managed Instances do
  const processor = new BatchProcessor(EventType.SQS);
  return processPartialResponse(event, handleRecord(context), processor, { context, throwOnFullBatchFailure: false });
};
