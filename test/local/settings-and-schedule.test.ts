import { readSettings } from '../../local/settings';
import { parseRate, scheduledEvent } from '../../local/schedule';

describe('local runtime settings', () => {
  it('defaults every setting', () => {
    expect(readSettings({})).toEqual({
      port: 3000,
      host: '127.0.0.1',
      sqsPort: 9324,
      dynamoDbPort: 8000,
      dataDir: '.requeue',
      visibilityTimeoutSeconds: 30,
      workerConcurrency: 2,
      streamBatchingWindowMs: 200,
    });
  });

  it('listens beyond loopback only with an API key', () => {
    expect(readSettings({ HOST: '0.0.0.0', REQUEUE_API_KEY: 'k' })).toMatchObject({ host: '0.0.0.0', apiKey: 'k' });
    expect(readSettings({ HOST: '::1' }).host).toBe('::1');
  });

  it('takes an API key of visible ASCII', () => {
    expect(readSettings({ REQUEUE_API_KEY: '!azAZ09-._~+/=#"\\' }).apiKey).toBe('!azAZ09-._~+/=#"\\');
  });

  it.each([
    ['clé', 3, '00E9'],
    ['ключ', 1, '043A'],
    ['my key', 3, '0020'],
    ['key\t', 4, '0009'],
    ['\u{1F511}key', 1, '1F511'],
  ])('refuses the API key %j, naming the character a header cannot carry', (key, at, code) => {
    expect(() => readSettings({ REQUEUE_API_KEY: key })).toThrow(
      `REQUEUE_API_KEY can hold only letters, digits and ASCII punctuation (an HTTP header carries no other characters); ` +
        `its character ${at} is U+${code}. Choose another key, for instance the output of \`openssl rand -hex 32\`.`,
    );
  });

  it('takes 0 for a free port', () => {
    expect(readSettings({ PORT: '0', SQS_PORT: '0', DYNAMODB_PORT: '0' })).toMatchObject({ port: 0, sqsPort: 0, dynamoDbPort: 0 });
  });

  it.each([
    [{ PORT: 'abc' }, "PORT must be a whole number from 0 to 65535, got 'abc'."],
    [{ PORT: '70000' }, "PORT must be a whole number from 0 to 65535, got '70000'."],
    [{ REQUEUE_VISIBILITY_TIMEOUT: '0' }, "REQUEUE_VISIBILITY_TIMEOUT must be a whole number from 1 to 43200, got '0'."],
    [{ REQUEUE_WORKER_CONCURRENCY: '1.5' }, "REQUEUE_WORKER_CONCURRENCY must be a whole number from 0 to 50, got '1.5'."],
    [{ REQUEUE_STREAM_WINDOW_MS: '-5' }, "REQUEUE_STREAM_WINDOW_MS must be a whole number from 0 to 300000, got '-5'."],
    [{ HOST: '0.0.0.0' }, 'HOST=0.0.0.0 would open the API to other machines without authentication; set REQUEUE_API_KEY as well'],
  ])('refuses %j with a sentence naming the setting', (env, message) => {
    expect(() => readSettings(env)).toThrow(message);
  });
});

describe('schedule expressions', () => {
  it('reads EventBridge rates', () => {
    expect(parseRate('rate(1 minute)')).toBe(60_000);
    expect(parseRate('rate(5 minutes)')).toBe(300_000);
    expect(parseRate('rate(2 hours)')).toBe(7_200_000);
    expect(parseRate('rate(1 day)')).toBe(86_400_000);
  });

  it.each(['rate(1 minutes)', 'rate(5 minute)', 'rate(0 minutes)', 'cron(0 12 * * ? *)'])('refuses %s', (expression) => {
    expect(() => parseRate(expression)).toThrow(`Unsupported schedule expression '${expression}'`);
  });

  it("builds EventBridge's Scheduled Event", () => {
    expect(scheduledEvent('requeue-reconcile-schedule', 'eu-west-1', new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678)))).toEqual({
      version: '0',
      id: expect.any(String),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: '000000000000',
      time: '2026-01-02T03:04:05Z',
      region: 'eu-west-1',
      resources: ['arn:aws:events:eu-west-1:000000000000:rule/requeue-reconcile-schedule'],
      detail: {},
    });
  });
});
