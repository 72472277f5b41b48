import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { marshall } from '@aws-sdk/util-dynamodb';
import { toItem } from '../../lambda/adapters/dynamodb-job-item';
import { DynamoDbJobStore } from '../../lambda/adapters/dynamodb-job-store';
import type { HistoryEntry } from '../../lambda/core/job';
import { createJob } from '../../lambda/core/transitions';
import { itemSize, MAX_ITEM_BYTES } from '../../lambda/adapters/dynamodb-item-size';
import { startHarness, type Harness } from '../support/requeue-harness';

/**
 * Each budget of a job item, just under and just over, through the real
 * handlers and worker on dynalite and fauxqs: one execution per attempt and
 * the right final state.
 */
let h: Harness;

beforeAll(async () => {
  h = await startHarness();
  h.startWorker();
});
afterAll(() => h.stop());

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');
/** A string whose JSON text is `n` bytes. */
const jsonString = (n: number) => 'x'.repeat(n - 2);

const enqueue = async (body: unknown): Promise<string> => {
  const answer = await h.request('POST', '/jobs', body);
  expect(answer.status).toBe(201);
  return answer.body.id;
};

const total = async (): Promise<number> => (await h.request('GET', '/jobs/metrics')).body.total;

/** One execution per attempt: every (generation, attempt) once, in order. */
const oneExecutionPerAttempt = (history: HistoryEntry[]) => {
  const keys = history.map((e) => `${e.generation}/${e.attempt}`);
  expect(new Set(keys).size).toBe(keys.length);
  const sorted = [...history].sort((a, b) => a.generation - b.generation || a.attempt - b.attempt);
  expect(history).toEqual(sorted);
};

describe('data (160 KiB of JSON)', () => {
  it('takes data of exactly its budget, and demo.echo completes once with its too-large result marked', async () => {
    const id = await enqueue({ name: 'demo.echo', data: jsonString(163_840) });
    const job = await h.untilState(id, 'completed');
    expect(job).toMatchObject({
      attempts: 1,
      error: null,
      returnValue: { notStored: 'returnValue not stored: it is 163840 bytes as JSON, over its budget of 65536 bytes' },
    });
    expect(job.data).toHaveLength(163_838);
    expect(job.history).toEqual([expect.objectContaining({ generation: 0, attempt: 1, outcome: 'completed' })]);
  });

  it('refuses one byte more with 413 and a sentence giving the limit, writing nothing', async () => {
    const before = await total();
    const answer = await h.request('POST', '/jobs', { name: 'demo.echo', data: jsonString(163_841) });
    expect(answer.status).toBe(413);
    expect(answer.body).toEqual({
      error: 'data is 163841 bytes as JSON; the limit is 163840 bytes (160 KiB). Store large payloads elsewhere and enqueue a reference.',
      code: 'PAYLOAD_TOO_LARGE',
    });
    expect(await total()).toBe(before);
  });

  it('counts UTF-8 bytes: 2-byte characters reach the budget at half as many', async () => {
    expect((await h.request('POST', '/jobs', { name: 'demo.sleep', data: 'é'.repeat(81_920) })).status).toBe(413);
  });
});

describe('returnValue (64 KiB of JSON)', () => {
  it('stores a result of exactly its budget', async () => {
    const data = jsonString(65_536);
    const job = await h.untilState(await enqueue({ name: 'demo.echo', data }), 'completed');
    expect(job.returnValue).toBe(data);
    expect(job.history).toHaveLength(1);
  });

  it('completes a job whose result is one byte over, once, with a marker in its place', async () => {
    const job = await h.untilState(await enqueue({ name: 'demo.echo', data: jsonString(65_537) }), 'completed');
    expect(job.returnValue).toEqual({
      notStored: 'returnValue not stored: it is 65537 bytes as JSON, over its budget of 65536 bytes',
    });
    expect(job.attempts).toBe(1);
    expect(job.history).toEqual([expect.objectContaining({ attempt: 1, outcome: 'completed' })]);
  });
});

describe('error (4 KiB) and stack (16 KiB)', () => {
  it('keeps an error of exactly its budget whole, and its stack with it', async () => {
    const message = 'é'.repeat(2048);
    const job = await h.untilState(await enqueue({ name: 'demo.fail', data: { message }, opts: { attempts: 1 } }), 'failed');
    expect(job.error).toBe(message);
    expect(job.stacktrace).toContain(message);
    expect(job.history).toEqual([expect.objectContaining({ attempt: 1, outcome: 'failed' })]);
  });

  it('cuts a longer error and stack to their budgets, between characters, saying how long they were', async () => {
    const message = 'é'.repeat(10_000);
    const job = await h.untilState(await enqueue({ name: 'demo.fail', data: { message }, opts: { attempts: 2 } }), 'failed');
    expect(job.error).toMatch(/^é+… \[cut to 4096 of 20000 bytes\]$/);
    expect(bytes(job.error)).toBeLessThanOrEqual(4096);
    expect(job.stacktrace).toMatch(/^Error: é+… \[cut to 16384 of \d+ bytes\]$/);
    expect(bytes(job.stacktrace)).toBeLessThanOrEqual(16_384);
    expect(job.history).toHaveLength(2);
    for (const entry of job.history) expect(entry.error).toMatch(/^é+… \[cut to 512 of 20000 bytes\]$/);
    oneExecutionPerAttempt(job.history);
  });
});

describe('history (100 entries)', () => {
  it('keeps the newest 100 executions across a retry and counts those dropped', async () => {
    // fails its first 150 executions: 100 attempts, then a retry that succeeds at its 51st
    const id = await enqueue({ name: 'demo.flaky', data: { failTimes: 150 }, opts: { attempts: 100 } });
    const failed = await h.untilState(id, 'failed', 90_000);
    expect(failed).toMatchObject({ attempts: 100, historyDropped: 0, error: 'Flaky failure 100 of 150' });
    expect(failed.history).toHaveLength(100);
    oneExecutionPerAttempt(failed.history);

    expect((await h.request('POST', `/jobs/retry/${id}`)).status).toBe(200);
    const done = await h.untilState(id, 'completed', 90_000);
    expect(done).toMatchObject({ attempts: 51, generation: 1, historyDropped: 51, returnValue: { executions: 151 } });
    expect(done.history).toHaveLength(100);
    oneExecutionPerAttempt(done.history);
    // the oldest kept is generation 0's 52nd attempt; the newest the completion
    expect(done.history[0]).toMatchObject({ generation: 0, attempt: 52, error: 'Flaky failure 52 of 150' });
    expect(done.history.at(-1)).toMatchObject({ generation: 1, attempt: 51, outcome: 'completed' });
  }, 200_000);
});

describe('a write DynamoDB refuses', () => {
  it('records the outcome in its smallest form: no second run, no "Execution lost"', async () => {
    // a job no enqueue accepts now (as a version before the budgets could store): its item
    // some 6 KB under the limit, so the failure's 20 KB of error and stack cannot be added to it
    const store = new DynamoDbJobStore({ tableName: h.tableName, retentionMs: 60_000, client: h.dynamodb });
    const data = { message: 'm'.repeat(20_000), pad: '' };
    const at = Date.now();
    const job = (pad: number) =>
      createJob({ id: 'near-the-limit', name: 'demo.fail', data: { ...data, pad: 'x'.repeat(pad) }, opts: { attempts: 3, backoff: { type: 'fixed', delay: 0 }, delay: 0 } }, at);
    const size = (pad: number) => itemSize(marshall(toItem(job(pad), 60_000), { removeUndefinedValues: true }));
    const pad = MAX_ITEM_BYTES - 6_000 - size(0);
    expect(size(pad)).toBe(MAX_ITEM_BYTES - 6_000);
    await store.create(job(pad));
    await h.sqs.send(new SendMessageCommand({ QueueUrl: h.queueUrl, MessageBody: JSON.stringify({ jobId: 'near-the-limit', generation: 0 }) }));

    // each of its three attempts is refused as a whole and recorded small
    const final = await h.untilState('near-the-limit', 'failed', 20_000);
    expect(final.attempts).toBe(3);
    expect(final.stacktrace).toBeNull();
    expect(final.error).toMatch(
      /^m+… \[cut to 512 of 20000 bytes\] \[stack not stored: the store refused the full outcome: ValidationException: Item size to update has exceeded the maximum allowed size\]$/,
    );
    expect(final.history.map((e: HistoryEntry) => [e.attempt, e.outcome])).toEqual([
      [1, 'failed'],
      [2, 'failed'],
      [3, 'failed'],
    ]);
    expect(JSON.stringify(final)).not.toContain('Execution lost');
  }, 60_000);
});
