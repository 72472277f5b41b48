import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { DynamoDbJobStore } from '../../lambda/adapters/dynamodb-job-store';
import { SqsJobQueue } from '../../lambda/adapters/sqs-job-queue';
import { SQSClient } from '@aws-sdk/client-sqs';
import { retryFailedJob } from '../../lambda/core/retry-failed-job';
import { storeFailedJob } from '../support/job-fixtures';
import type { HttpHandler } from '../../local/api-gateway';
import { loadHandler } from '../../local/handler-modules';
import { freshResources } from '../support/resources';

/**
 * SQS down while DynamoDB works: the handlers' SQS endpoint is a port that
 * accepts connections and closes them at once, a real network fault.
 */
let deadSqs: Server;
let store: DynamoDbJobStore;
let workingQueue: SqsJobQueue;

beforeAll(async () => {
  const resources = await freshResources();
  store = new DynamoDbJobStore({ tableName: resources.tableName, retentionMs: 60_000 });
  const endpoint = process.env.AWS_ENDPOINT_URL_SQS ?? process.env.AWS_ENDPOINT_URL;
  workingQueue = new SqsJobQueue({ ...resources, client: new SQSClient({ endpoint, useQueueUrlAsEndpoint: false }) });
  deadSqs = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => deadSqs.listen(0, '127.0.0.1', resolve));
  // read by the handlers' SQS client, built when the first handler loads below
  process.env.AWS_ENDPOINT_URL_SQS = `http://127.0.0.1:${(deadSqs.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => deadSqs.close(() => resolve())));

const call = async (name: string, event: Record<string, unknown>) => {
  const handler = await loadHandler<HttpHandler>(name);
  // a payload-2.0 event of its own (test/support/api-gateway-events.ts builds whole ones), with what each case sets
  const base = { version: '2.0', rawQueryString: '', headers: {}, requestContext: { http: { method: 'POST' } }, isBase64Encoded: false };
  const result = (await handler({ ...base, ...event } as never, {} as never)) as { statusCode: number; body: string };
  return { status: result.statusCode, body: JSON.parse(result.body) };
};

const failedJob = (id: string) => storeFailedJob(store, { id, name: 'demo.echo', error: 'outage' });

describe('with SQS unavailable', () => {
  it('an enqueue answers 503 DEPENDENCY_UNAVAILABLE and leaves no job behind', async () => {
    const answer = await call('enqueue-job', { body: JSON.stringify({ name: 'demo.echo', opts: { jobId: 'during-outage' } }) });
    expect(answer).toEqual({
      status: 503,
      body: { error: expect.stringMatching(/unavailable.*try again/), code: 'DEPENDENCY_UNAVAILABLE' },
    });
    expect(await store.get('during-outage')).toBeUndefined();
  });

  it('a retry answers 503 and the job stays failed, retryable once SQS is back', async () => {
    const before = await failedJob('failed-before-outage');
    const answer = await call('retry-job', { pathParameters: { jobId: before.id } });
    expect(answer.status).toBe(503);
    expect(answer.body.code).toBe('DEPENDENCY_UNAVAILABLE');
    expect(answer.body.error).toMatch(/still failed, retry it again shortly/);
    expect(await store.get(before.id)).toEqual(before);
    // SQS is back
    const retried = await retryFailedJob({ store, queue: workingQueue }, before.id);
    expect(retried).toMatchObject({ state: 'waiting', generation: 1 });
  });

  it('retry-all reports every job it could not send as not retried, and leaves them failed', async () => {
    const jobs = await Promise.all(['outage-a', 'outage-b', 'outage-c'].map(failedJob));
    const answer = await call('retry-all-failed', {});
    expect(answer).toEqual({
      status: 200,
      body: { message: 'Retry operation complete', retriedCount: 0, failedCount: 3, total: 3 },
    });
    for (const job of jobs) expect((await store.get(job.id))?.state).toBe('failed');
  });

  it('metrics answer 503, not a stack trace', async () => {
    const answer = await call('get-metrics', {});
    expect(answer.status).toBe(503);
    expect(answer.body).toEqual({ error: expect.stringMatching(/^SQS is unavailable/), code: 'DEPENDENCY_UNAVAILABLE' });
  });
});
