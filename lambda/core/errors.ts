/**
 * Errors a caller of the domain can act on: a sentence saying what to do,
 * and a machine code. They name no transport's status; the HTTP handlers
 * map each class to one (lambda/handlers/http.ts). Any other error is a bug.
 */
export abstract class RequeueError extends Error {
  abstract readonly code: string;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class ValidationError extends RequeueError {
  readonly code = 'VALIDATION_ERROR';
}

export class InvalidJsonError extends RequeueError {
  readonly code = 'INVALID_JSON';
}

export class PayloadTooLargeError extends RequeueError {
  readonly code = 'PAYLOAD_TOO_LARGE';
}

export class JobNotFoundError extends RequeueError {
  readonly code = 'JOB_NOT_FOUND';
  constructor(readonly jobId: string) {
    super(`Job ${jobId} not found`);
  }
}

export class DuplicateJobError extends RequeueError {
  readonly code = 'DUPLICATE_JOB_ID';
  constructor(readonly jobId: string) {
    super(`Job ${jobId} already exists; choose another jobId or omit it to get a generated one`);
  }
}

export class JobNotFailedError extends RequeueError {
  readonly code = 'JOB_NOT_FAILED';
  constructor(
    readonly jobId: string,
    readonly state: string,
  ) {
    super(`Job ${jobId} is not in failed state. Current state: ${state}`);
  }
}

export class JobActiveError extends RequeueError {
  readonly code = 'JOB_ACTIVE';
  constructor(readonly jobId: string) {
    super(`Job ${jobId} is active and cannot be removed`);
  }
}

/** A job changed between the read and the conditional write of an operation that judged it as read. */
export class JobChangedError extends RequeueError {
  readonly code = 'JOB_CHANGED';
  constructor(
    readonly jobId: string,
    readonly state: string,
  ) {
    super(`Job ${jobId} changed while it was being removed (it is ${state} now); look at it again and retry the request`);
  }
}

export class JobNotDelayedError extends RequeueError {
  readonly code = 'JOB_NOT_DELAYED';
  constructor(
    readonly jobId: string,
    readonly state: string,
  ) {
    super(`Job ${jobId} is not delayed. Current state: ${state}`);
  }
}

export class TaskNotFoundError extends RequeueError {
  readonly code = 'TASK_NOT_FOUND';
  constructor(readonly taskId: string) {
    super(`Retry task ${taskId} not found`);
  }
}

export class RecountNotFoundError extends RequeueError {
  readonly code = 'RECOUNT_NOT_FOUND';
  constructor(readonly taskId: string) {
    super(`Recount ${taskId} not found`);
  }
}

export class TaskNotRunningError extends RequeueError {
  readonly code = 'TASK_NOT_RUNNING';
  constructor(
    readonly taskId: string,
    readonly status: string,
  ) {
    super(`Retry task ${taskId} is not running. Current status: ${status}`);
  }
}

/** The worker's event source is between two states (starting or stopping): it takes no other change until it settles. */
export class WorkerSwitchBusyError extends RequeueError {
  readonly code = 'WORKER_SWITCH_BUSY';
}

/** SQS, DynamoDB or Lambda's API could not be reached; the operation changed nothing that would strand a job. */
export class DependencyUnavailableError extends RequeueError {
  readonly code = 'DEPENDENCY_UNAVAILABLE';
}

/** A conditional write lost: the job is no longer in the state the caller read. */
export class StateConflictError extends Error {
  constructor(
    readonly jobId: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StateConflictError';
  }
}

/**
 * The store refused a write for a reason that trying again will not change
 * (on DynamoDB a ValidationException, such as an item past 400 KB). Nothing
 * was written.
 */
export class JobWriteRefusedError extends Error {
  constructor(
    readonly jobId: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`The store refused to write job ${jobId}: ${reason}`, options);
    this.name = 'JobWriteRefusedError';
  }
}

/** A required setting is missing or malformed; raised at cold start. */
export class ConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigurationError';
  }
}

/**
 * Thrown by a processor to fail the job at once, skipping its remaining
 * attempts (a bad payload will not get better by waiting).
 */
export class UnrecoverableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UnrecoverableError';
  }
}
