import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { SqsJobQueue } from '../../lambda/adapters/sqs-job-queue';
import { freshResources } from '../support/resources';

let sqs: SQSClient;
let queue: SqsJobQueue;
let urls: { queueUrl: string; deadLetterQueueUrl: string };

beforeAll(async () => {
  const resources = await freshResources();
  sqs = resources.sqs;
  urls = resources;
  queue = new SqsJobQueue(resources);
});

const receiveAll = async (queueUrl: string, expected: number): Promise<string[]> => {
  const bodies: string[] = [];
  for (let i = 0; i < 20 && bodies.length < expected; i++) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 60 }),
    );
    bodies.push(...Messages.map((m) => m.Body!));
  }
  return bodies;
};

describe('SqsJobQueue', () => {
  it('sends any number of messages in batches, each carrying {jobId, generation}', async () => {
    const messages = Array.from({ length: 25 }, (_, i) => ({ jobId: `j${i}`, generation: i % 3 }));
    expect(await queue.send(messages)).toEqual([]);
    const bodies = await receiveAll(urls.queueUrl, 25);
    expect(bodies.map((b) => JSON.parse(b)).sort((a, b) => a.jobId.localeCompare(b.jobId))).toEqual(
      [...messages].sort((a, b) => a.jobId.localeCompare(b.jobId)),
    );
  });

  it('marks the dead-letter copy so a redrive can be told from the original', async () => {
    await queue.sendToDeadLetter({ jobId: 'dead', generation: 2 });
    const [body] = await receiveAll(urls.deadLetterQueueUrl, 1);
    expect(JSON.parse(body)).toEqual({ jobId: 'dead', generation: 2, deadLettered: true });
  });

  it('reports both queues’ depths', async () => {
    await queue.send([{ jobId: 'd1', generation: 0 }], 60_000);
    await queue.sendToDeadLetter({ jobId: 'd2', generation: 0 });
    const depths = await queue.depths();
    expect(depths.main.delayed).toBe(1);
    expect(depths.deadLetter.visible).toBe(1);
  });
});
