import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import {
  GetEventSourceMappingCommand,
  LambdaClient,
  UpdateEventSourceMappingCommand,
} from '@aws-sdk/client-lambda';
import { GetQueueAttributesCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { startEventSource } from '../../local/event-source';
import { LocalEventSourceMapping } from '../../local/event-source-mapping';
import { startLambdaFront, type LambdaFront } from '../../local/lambda-front';
import { readWorkerMapping, workerMappingFile, writeWorkerMapping } from '../../local/worker-mapping-file';
import { eventually } from '../support/requeue-harness';
import { freshResources } from '../support/resources';

// The local Lambda API answering the SDK's GetEventSourceMapping and
// UpdateEventSourceMapping for a mapping whose pollers feed a handler on the
// SQS emulator: what POST /jobs/pause and /jobs/resume call, locally.

let front: LambdaFront;
let lambda: LambdaClient;
let sqs: SQSClient;
let queueUrl: string;
let mapping: LocalEventSourceMapping;
const received: string[] = [];
const changes: boolean[] = [];
/** Resolves the batch the handler holds, if any. */
let releaseBatch: (() => void) | undefined;
let holdBatches = false;

const visibleMessages = async (): Promise<number> => {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  return Number(Attributes!.ApproximateNumberOfMessages);
};

beforeAll(async () => {
  const resources = await freshResources({ visibilityTimeoutSeconds: 30 });
  sqs = resources.sqs;
  queueUrl = resources.queueUrl;
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  const handler = async (event: SQSEvent) => {
    for (const record of event.Records) received.push(record.body);
    if (holdBatches) await new Promise<void>((resolve) => (releaseBatch = resolve));
  };
  mapping = new LocalEventSourceMapping({
    uuid: randomUUID(),
    eventSourceArn: Attributes!.QueueArn!,
    functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:worker',
    batchSize: 10,
    enabled: true,
    start: () =>
      startEventSource({
        sqs,
        queueUrl,
        queueArn: Attributes!.QueueArn!,
        region: 'us-east-1',
        handler,
        functionName: 'worker',
        timeoutMs: 30_000,
        concurrency: 1,
        waitTimeSeconds: 1,
      }),
    onChange: (enabled) => changes.push(enabled),
  });
  front = await startLambdaFront({ port: 0, host: '127.0.0.1' });
  front.add(mapping);
  lambda = new LambdaClient({ endpoint: front.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
});

afterAll(async () => {
  releaseBatch?.();
  await mapping.stop();
  lambda.destroy();
  await front.stop();
});

const state = async () => (await lambda.send(new GetEventSourceMappingCommand({ UUID: mapping.uuid }))).State;

it('answers GetEventSourceMapping as Lambda does, with the mapping Enabled', async () => {
  const answer = await lambda.send(new GetEventSourceMappingCommand({ UUID: mapping.uuid }));
  expect(answer).toMatchObject({
    UUID: mapping.uuid,
    State: 'Enabled',
    BatchSize: 10,
    EventSourceArn: expect.stringMatching(/^arn:aws:sqs:/),
    LastModified: expect.any(Date),
  });
});

it('answers an unknown mapping with ResourceNotFoundException', async () => {
  await expect(lambda.send(new GetEventSourceMappingCommand({ UUID: randomUUID() }))).rejects.toMatchObject({
    name: 'ResourceNotFoundException',
    $metadata: { httpStatusCode: 404 },
  });
});

it('refuses to change anything but Enabled', async () => {
  await expect(lambda.send(new UpdateEventSourceMappingCommand({ UUID: mapping.uuid, BatchSize: 5 }))).rejects.toMatchObject({
    name: 'InvalidParameterValueException',
    message: expect.stringMatching(/only Enabled/),
  });
  expect(await state()).toBe('Enabled');
});

it('disabled, lets the batch in flight finish, takes no other change until then, and receives nothing more', async () => {
  holdBatches = true;
  await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'in flight' }));
  await eventually(async () => releaseBatch !== undefined, 20_000, 'the handler to hold a batch');

  const disabled = await lambda.send(new UpdateEventSourceMappingCommand({ UUID: mapping.uuid, Enabled: false }));
  expect(disabled.State).toBe('Disabling');
  await expect(lambda.send(new UpdateEventSourceMappingCommand({ UUID: mapping.uuid, Enabled: true }))).rejects.toMatchObject({
    name: 'ResourceInUseException',
    $metadata: { httpStatusCode: 400 },
  });
  expect(await state()).toBe('Disabling');

  holdBatches = false;
  releaseBatch!();
  await eventually(async () => (await state()) === 'Disabled', 20_000, 'the mapping to be Disabled');
  // the batch that was running finished and was deleted: nothing of it comes back
  expect(mapping.inFlight).toBe(0);

  await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'while paused' }));
  await eventually(async () => (await visibleMessages()) === 1, 20_000, 'the message to wait in the queue');
  expect(received).toEqual(['in flight']);
  // disabling a disabled mapping changes nothing
  expect((await lambda.send(new UpdateEventSourceMappingCommand({ UUID: mapping.uuid, Enabled: false }))).State).toBe('Disabled');
  expect(changes).toEqual([false]);
}, 60_000);

it('enabled again, delivers what waited', async () => {
  const enabled = await lambda.send(new UpdateEventSourceMappingCommand({ UUID: mapping.uuid, Enabled: true }));
  expect(enabled.State).toBe('Enabled');
  await eventually(async () => received.includes('while paused'), 20_000, 'the waiting message to be delivered');
  expect(received).toEqual(['in flight', 'while paused']);
  expect(changes).toEqual([false, true]);
}, 30_000);

it('gives a message a long poll brings while it disables back to the queue at once', async () => {
  // the poller is in a long poll on an empty queue; disabling lets it end rather than cut it short
  await eventually(async () => (await visibleMessages()) === 0 && mapping.inFlight === 0, 20_000, 'an idle poller');
  await lambda.send(new UpdateEventSourceMappingCommand({ UUID: mapping.uuid, Enabled: false }));
  await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'during the last poll' }));
  await eventually(async () => (await state()) === 'Disabled', 20_000, 'the mapping to be Disabled');
  await eventually(async () => (await visibleMessages()) === 1, 20_000, 'the message to be visible again');
  expect(received).not.toContain('during the last poll');
}, 60_000);

describe('the file the runtime keeps the mapping in', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'requeue-mapping-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('gives a new enabled mapping when there is none, and the one written after', () => {
    const file = workerMappingFile(dir);
    const fresh = readWorkerMapping(file);
    expect(fresh).toEqual({ uuid: expect.stringMatching(/^[0-9a-f-]{36}$/), enabled: true });
    writeWorkerMapping(file, { uuid: fresh.uuid, enabled: false });
    expect(readWorkerMapping(file)).toEqual({ uuid: fresh.uuid, enabled: false });
  });

  it('begins afresh from a torn file', () => {
    const file = workerMappingFile(dir);
    writeFileSync(file, '{"uuid": "abc", "ena');
    expect(readWorkerMapping(file)).toEqual({ uuid: expect.not.stringMatching(/^abc$/), enabled: true });
  });
});
