import { LIMITS } from '../core/limits';

/**
 * Queue settings shared by the CDK stack and the local runtime.
 *
 * The worker moves a job's message to the dead-letter queue itself when the
 * job fails for good, because attempts are per job. The queue's own redrive
 * policy is only a safety net for a message that keeps coming back without
 * being handled (a worker crashing on it): every attempt and every early
 * wake-up of a delayed job counts as one receive, so it must sit well above
 * the largest `opts.attempts`.
 */
export const QUEUE_SETTINGS = {
  safetyNetMaxReceiveCount: LIMITS.maxAttempts * 3,
  deadLetterRetentionSeconds: 14 * 24 * 60 * 60,
  /** Long polling, as Lambda's event source does. */
  receiveWaitSeconds: 20,
  /** Lambda's largest standard-queue batch without a batching window tuned for it. */
  batchSize: 10,
} as const;
