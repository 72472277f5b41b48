import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { runTaskChunk } from '../core/run-task-chunk';
import { services } from '../adapters/services';
import { logger } from './logger';

const { store, queue, tasks, taskQueue, recounts, config } = services();

/** A chunk stops starting pages this long before the function's own timeout. */
const SAFETY_MS = 15_000;
/** And runs at most this long, so progress is visible and a cancel is honoured promptly. */
const MAX_CHUNK_MS = 60_000;
/** The counters follow the table's stream by its batching window and the counting function's run, about this much. */
const settleMs = config.streamWindowMs + 1_000;

const runChunk = (context: Context) => async (record: SQSRecord): Promise<void> => {
  const { taskId } = JSON.parse(record.body) as { taskId?: unknown };
  if (typeof taskId !== 'string') {
    logger.warn('Dropping a tasks-queue message that names no task', { body: record.body.slice(0, 500) });
    return;
  }
  const budgetMs = Math.max(1000, Math.min(MAX_CHUNK_MS, context.getRemainingTimeInMillis() - SAFETY_MS));
  await runTaskChunk({ store, queue, tasks, taskQueue, recounts, settleMs }, taskId, budgetMs);
};

export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  // one per invocation, as in the worker: invocations of this module may run side by side
  const processor = new BatchProcessor(EventType.SQS);
  return processPartialResponse(event, runChunk(context), processor, { context, throwOnFullBatchFailure: false });
};
