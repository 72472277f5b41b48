import { StateConflictError, DuplicateJobError } from '../../lambda/core/errors';
import { JOB_STATES, stateChangedAt, toFailedJobSummary, toJobSummary, type FailedJobSummary, type Job, type JobMessage, type JobState, type JobSummary } from '../../lambda/core/job';
import type { HiddenMessage, JobQueue, JobStore, MinuteThroughput, Page, QueueDepth, RetryTaskStore, TaskQueue } from '../../lambda/core/ports';
import type { RecountStore, RecountTask } from '../../lambda/core/recount-jobs';
import type { RetryTask, TaskStatus } from '../../lambda/core/retry-task';
import { claim, isClaimRefusal, type Expectation } from '../../lambda/core/transitions';
import type { FailedJobFilter } from '../../lambda/core/failed-job-filter';

/** The clock every in-memory part and the core read, moved by the test. */
export class Clock {
  constructor(public value = 1_000_000) {}
  readonly now = (): number => this.value;
  advance(ms: number): void {
    this.value += ms;
  }
}

const meets = (job: Job, expect: Expectation): boolean =>
  expect.states.includes(job.state) &&
  job.generation === expect.generation &&
  (expect.attempts === undefined || job.attempts === expect.attempts) &&
  (expect.activeLeaseEndedBefore === undefined || (job.leaseUntil ?? 0) < expect.activeLeaseEndedBefore);

const newestFirst = (a: Job, b: Job) => stateChangedAt(b) - stateChangedAt(a) || b.id.localeCompare(a.id);

/** Like DynamoDB's ExclusiveStartKey: the page after the last key seen, however the set changed since. */
const pageAfter = (sorted: Job[], limit: number, cursor?: string): Page<Job> => {
  const after = cursor ? (JSON.parse(cursor) as { at: number; id: string }) : undefined;
  const rest = after
    ? sorted.filter((job) => stateChangedAt(job) < after.at || (stateChangedAt(job) === after.at && job.id < after.id))
    : sorted;
  const items = rest.slice(0, limit);
  const last = items.at(-1);
  return {
    items,
    cursor: rest.length > limit && last ? JSON.stringify({ at: stateChangedAt(last), id: last.id }) : undefined,
  };
};

/** JobStore with the conditional-write semantics of the DynamoDB adapter, in memory. */
export class MemoryJobStore implements JobStore {
  readonly jobs = new Map<string, Job>();
  /** Jobs that left `failed`, and how many of those a sweep covered. */
  private stale = { made: 0, swept: 0 };

  async create(job: Job): Promise<void> {
    if (this.jobs.has(job.id)) throw new DuplicateJobError(job.id);
    this.jobs.set(job.id, job);
  }

  async get(jobId: string): Promise<Job | undefined> {
    return this.jobs.get(jobId);
  }

  async save(next: Job, expect: Expectation): Promise<void> {
    const current = this.jobs.get(next.id);
    if (!current || !meets(current, expect)) throw new StateConflictError(next.id, 'changed');
    if (current.state === 'failed' && next.state !== 'failed') this.stale.made++;
    this.jobs.set(next.id, next);
  }

  async claim(jobId: string, generation: number, now: number, leaseMs: number): Promise<Job | undefined> {
    const job = this.jobs.get(jobId);
    const claimed = job && claim(job, generation, now, leaseMs);
    if (!claimed || isClaimRefusal(claimed)) return undefined;
    await this.save(claimed.next, claimed.expect);
    return claimed.next;
  }

  async remove(jobId: string, expect: Expectation): Promise<void> {
    const current = this.jobs.get(jobId);
    if (!current || !meets(current, expect)) throw new StateConflictError(jobId, 'changed');
    if (current.state === 'failed') this.stale.made++;
    this.jobs.delete(jobId);
  }

  async countStatePage(state: JobState): Promise<{ count: number; cursor?: string }> {
    return { count: (await this.countByState())[state] };
  }

  /** Counts are computed from the jobs: they are always right. */
  async adjustCount(): Promise<void> {}

  /** Counts are computed from the jobs: there is no stream to count from. */
  async countChanges(): Promise<void> {}

  async staleCopies(): Promise<{ made: number; swept: number }> {
    return { ...this.stale };
  }

  async markSwept(made: number): Promise<void> {
    this.stale.swept = Math.max(this.stale.swept, made);
  }

  async listByState(state: JobState, limit: number, cursor?: string, changedBefore?: number): Promise<Page<Job>> {
    const all = [...this.jobs.values()]
      .filter((job) => job.state === state && (changedBefore === undefined || stateChangedAt(job) < changedBefore))
      .sort(newestFirst);
    return pageAfter(all, limit, cursor);
  }

  async listFailed(filter: FailedJobFilter, limit: number, cursor?: string): Promise<Page<Job>> {
    return pageAfter(this.failedMatching(filter), limit, cursor);
  }

  async listFailedSummaries(filter: FailedJobFilter, limit: number, cursor?: string): Promise<Page<FailedJobSummary>> {
    const page = await this.listFailed(filter, limit, cursor);
    return { ...page, items: page.items.map(toFailedJobSummary) };
  }

  async listSummaries(state: JobState, filter: { name?: string }, limit: number, cursor?: string): Promise<Page<JobSummary>> {
    const all = [...this.jobs.values()]
      .filter((job) => job.state === state && (filter.name === undefined || job.name === filter.name))
      .sort(newestFirst);
    const page = pageAfter(all, limit, cursor);
    return { ...page, items: page.items.map(toJobSummary) };
  }

  async countFailed(filter: FailedJobFilter, upTo = Number.POSITIVE_INFINITY): Promise<number> {
    return Math.min(this.failedMatching(filter).length, upTo);
  }

  private failedMatching(filter: FailedJobFilter): Job[] {
    return [...this.jobs.values()]
      .filter(
        (job) =>
          job.state === 'failed' &&
          (filter.name === undefined || job.name === filter.name) &&
          (filter.since === undefined || stateChangedAt(job) >= filter.since) &&
          (filter.until === undefined || stateChangedAt(job) <= filter.until) &&
          (filter.error === undefined || (job.error ?? '').toLowerCase().includes(filter.error.toLowerCase())),
      )
      .sort(newestFirst);
  }

  async recount(): Promise<Record<JobState, number>> {
    return this.countByState();
  }

  async throughput(minutes: number, now: number): Promise<MinuteThroughput[]> {
    const first = Math.floor(now / 60_000) - minutes + 1;
    return Array.from({ length: minutes }, (_, i) => {
      const start = (first + i) * 60_000;
      const within = (at?: number) => at !== undefined && at >= start && at < start + 60_000;
      const jobs = [...this.jobs.values()];
      return {
        minute: start,
        completed: jobs.filter((j) => j.state === 'completed' && within(j.finishedAt)).length,
        failed: jobs.filter((j) => j.state === 'failed' && within(j.failedAt)).length,
      };
    });
  }

  async countByState(): Promise<Record<JobState, number>> {
    const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
    for (const job of this.jobs.values()) counts[job.state]++;
    return counts;
  }
}

export interface QueuedMessage {
  readonly id: number;
  readonly body: string;
  visibleAt: number;
  /** Receipt handles handed out; any of them deletes or hides the message, as in SQS. */
  readonly receipts: Set<string>;
}

/** An SQS-like queue pair: visibility timeouts, delays, duplicates on demand. */
export class MemoryJobQueue implements JobQueue {
  main: QueuedMessage[] = [];
  deadLetter: QueuedMessage[] = [];
  private seq = 0;

  constructor(
    private readonly clock: Clock,
    private readonly visibilityMs: number,
  ) {}

  private make(body: string, delayMs: number): QueuedMessage {
    return { id: ++this.seq, body, visibleAt: this.clock.now() + Math.ceil(delayMs / 1000) * 1000, receipts: new Set() };
  }

  async send(messages: readonly JobMessage[], delayMs = 0): Promise<readonly JobMessage[]> {
    for (const m of messages) this.main.push(this.make(JSON.stringify(m), Math.min(delayMs, 900_000)));
    return [];
  }

  async sendToDeadLetter(message: JobMessage): Promise<void> {
    this.deadLetter.push(this.make(JSON.stringify({ ...message, deadLettered: true }), 0));
  }

  async sweepDeadLetters(isStale: (message: JobMessage) => Promise<boolean>, maxMessages: number): Promise<number> {
    const before = this.deadLetter.length;
    const kept: QueuedMessage[] = [];
    for (const [i, m] of this.deadLetter.entries()) {
      if (i >= maxMessages || !(await isStale(JSON.parse(m.body) as JobMessage))) kept.push(m);
    }
    this.deadLetter = kept;
    return before - kept.length;
  }

  async hide(messages: readonly HiddenMessage[]): Promise<void> {
    for (const { receiptHandle, delayMs } of messages) {
      const m = this.main.find((x) => x.receipts.has(receiptHandle));
      if (m) m.visibleAt = this.clock.now() + Math.ceil(delayMs / 1000) * 1000;
    }
  }

  async depths(): Promise<{ main: QueueDepth; deadLetter: QueueDepth }> {
    const depth = (q: QueuedMessage[]) => ({
      visible: q.filter((m) => m.visibleAt <= this.clock.now()).length,
      inFlight: q.filter((m) => m.visibleAt > this.clock.now()).length,
      delayed: 0,
    });
    return { main: depth(this.main), deadLetter: depth(this.deadLetter) };
  }

  /** Receive one message: visible ones only, unless `duplicate` (SQS may deliver a message twice). */
  receive(index: number, duplicate = false): { message: QueuedMessage; receipt: string } | undefined {
    const candidates = duplicate ? this.main : this.main.filter((m) => m.visibleAt <= this.clock.now());
    if (candidates.length === 0) return undefined;
    const message = candidates[index % candidates.length];
    const receipt = `r${message.id}-${message.receipts.size}`;
    message.receipts.add(receipt);
    message.visibleAt = Math.max(message.visibleAt, this.clock.now() + this.visibilityMs);
    return { message, receipt };
  }

  delete(receipt: string): void {
    this.main = this.main.filter((m) => !m.receipts.has(receipt));
  }

  /** Drop a message without handling it (a restart of the local SQS, say). */
  lose(index: number): void {
    if (this.main.length > 0) this.main.splice(index % this.main.length, 1);
  }

  /** Move one dead-letter message back to the main queue, as a console redrive does. */
  redrive(index: number): JobMessage | undefined {
    if (this.deadLetter.length === 0) return undefined;
    const [m] = this.deadLetter.splice(index % this.deadLetter.length, 1);
    this.main.push(this.make(m.body, 0));
    return JSON.parse(m.body) as JobMessage;
  }
}

/** RetryTaskStore with the DynamoDB adapter's version and status checks, in memory; tasks kept as JSON, as an item keeps them. */
export class MemoryRetryTaskStore implements RetryTaskStore {
  readonly tasks = new Map<string, string>();

  async createTask(task: RetryTask): Promise<void> {
    if (this.tasks.has(task.id)) throw new StateConflictError(task.id, 'exists');
    this.tasks.set(task.id, JSON.stringify(task));
  }

  async getTask(taskId: string): Promise<RetryTask | undefined> {
    const stored = this.tasks.get(taskId);
    return stored === undefined ? undefined : (JSON.parse(stored) as RetryTask);
  }

  async saveTask(next: RetryTask, expectVersion: number, expectStatuses?: readonly TaskStatus[]): Promise<void> {
    const current = await this.getTask(next.id);
    if (!current || current.version !== expectVersion || (expectStatuses && !expectStatuses.includes(current.status))) {
      throw new StateConflictError(next.id, 'changed');
    }
    this.tasks.set(next.id, JSON.stringify(next));
  }

  async listAbandonedTasks(before: number): Promise<readonly RetryTask[]> {
    const all = await Promise.all([...this.tasks.keys()].map((id) => this.getTask(id)));
    return all.filter(
      (task): task is RetryTask =>
        (task?.status === 'RUNNING' || task?.status === 'CANCELLING') && task.updatedAt < before && (task.leaseUntil ?? 0) < before,
    );
  }

  async listTasks(limit: number, cursor?: string): Promise<Page<RetryTask>> {
    const all = (await Promise.all([...this.tasks.keys()].map((id) => this.getTask(id)))) as RetryTask[];
    all.sort((a, b) => b.startedAt - a.startedAt || b.id.localeCompare(a.id));
    const from = cursor === undefined ? 0 : Number(cursor);
    const items = all.slice(from, from + limit);
    return { items, cursor: from + limit < all.length ? String(from + limit) : undefined };
  }
}

/** A tasks queue that keeps what it was sent: each message wakes a runner for the task it names. */
export class MemoryTaskQueue implements TaskQueue {
  readonly sent: { taskId: string; delayMs?: number }[] = [];

  async sendTask(taskId: string, delayMs?: number): Promise<void> {
    this.sent.push({ taskId, ...(delayMs === undefined ? {} : { delayMs }) });
  }
}

/** RecountStore with the DynamoDB adapter's version check, in memory. */
export class MemoryRecountStore implements RecountStore {
  readonly recounts = new Map<string, string>();

  async createRecount(task: RecountTask): Promise<void> {
    if (this.recounts.has(task.id)) throw new StateConflictError(task.id, 'exists');
    this.recounts.set(task.id, JSON.stringify(task));
  }

  async getRecount(id: string): Promise<RecountTask | undefined> {
    const stored = this.recounts.get(id);
    return stored === undefined ? undefined : (JSON.parse(stored) as RecountTask);
  }

  async saveRecount(next: RecountTask, expectVersion: number): Promise<void> {
    const current = await this.getRecount(next.id);
    if (!current || current.version !== expectVersion) throw new StateConflictError(next.id, 'changed');
    this.recounts.set(next.id, JSON.stringify(next));
  }

  async listAbandonedRecounts(before: number): Promise<readonly RecountTask[]> {
    const all = await Promise.all([...this.recounts.keys()].map((id) => this.getRecount(id)));
    return all.filter(
      (task): task is RecountTask => task?.status === 'RUNNING' && task.updatedAt < before && (task.leaseUntil ?? 0) < before,
    );
  }
}
